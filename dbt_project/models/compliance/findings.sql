{{
    config(
        materialized='incremental',
        unique_key='finding_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
    )
}}
{#- One row per finding: a mart flag, keyed by (kind, source, subject, time bucket) so the same finding keeps its
    key across runs, late events, restatements and backfills (what alerting deduplicates on). The bucket is the UTC
    day of the evidence for event findings (a late failed login of the same burst extends last_seen, it does not
    open a second finding) and `state` for findings about an account's current state.

    Incremental: every build recomputes the current findings from the marts (they are small) and merges them with
    the stored ones, so detected_at never moves, and a stored finding the marts no longer flag (a
    restatement, a leaver finally removed) stays as `resolved` instead of vanishing from the record. An event
    finding whose last evidence is older than var findings_open_days is resolved as well (aged out of review). -#}
{%- set open_days = var('findings_open_days') | int %}

{#- One entry per kind: the mart, its flag, who or what it is about, the time bucket, the evidence's span,
    the mart row's key and how many events it stands for. -#}
{%- set kinds = [
    {'kind': 'brute_force_by_user', 'mart': 'rpt_authentication_failures',
     'flag': 'is_brute_force_by_user and user_name is not null', 'subject': 'user_name',
     'bucket': "strftime(failure_hour, '%Y-%m-%d')", 'seen_from': 'first_failure_at', 'seen_to': 'last_failure_at',
     'evidence_key': 'failure_key', 'occurrences': 'failed_logins'},
    {'kind': 'brute_force_by_ip', 'mart': 'rpt_authentication_failures',
     'flag': 'is_brute_force_by_ip and actor_ip is not null', 'subject': 'actor_ip',
     'bucket': "strftime(failure_hour, '%Y-%m-%d')", 'seen_from': 'first_failure_at', 'seen_to': 'last_failure_at',
     'evidence_key': 'failure_key', 'occurrences': 'failed_logins'},
    {'kind': 'success_after_failures', 'mart': 'rpt_authentication_failures',
     'flag': 'is_followed_by_success and user_name is not null', 'subject': 'user_name',
     'bucket': "strftime(failure_hour, '%Y-%m-%d')", 'seen_from': 'first_failure_at',
     'seen_to': 'coalesce(success_after_failure_at, last_failure_at)', 'evidence_key': 'failure_key',
     'occurrences': '1'},
    {'kind': 'account_lockout', 'mart': 'rpt_authentication_failures', 'flag': 'is_lockout',
     'subject': "coalesce(user_name, actor_ip, 'unknown account')", 'bucket': "strftime(failure_hour, '%Y-%m-%d')",
     'seen_from': 'first_failure_at', 'seen_to': 'last_failure_at', 'evidence_key': 'failure_key',
     'occurrences': 'lockouts'},
    {'kind': 'self_grant', 'mart': 'rpt_privileged_changes', 'flag': 'is_self_grant',
     'subject': 'coalesce(changed_by, changed_by_id)', 'bucket': "strftime(event_time, '%Y-%m-%d')",
     'seen_from': 'event_time', 'seen_to': 'event_time', 'evidence_key': 'event_key', 'occurrences': '1'},
    {'kind': 'admin_grant', 'mart': 'rpt_privileged_changes', 'flag': 'is_admin_grant',
     'subject': 'coalesce(subject_user_name, subject_user_id, target_name, target_id, changed_by)',
     'bucket': "strftime(event_time, '%Y-%m-%d')", 'seen_from': 'event_time', 'seen_to': 'event_time',
     'evidence_key': 'event_key', 'occurrences': '1'},
    {'kind': 'activity_after_deletion', 'mart': 'rpt_user_lifecycle', 'flag': 'activity_after_deletion',
     'subject': 'coalesce(user_name, user_id)', 'bucket': "'state'", 'seen_from': 'event_time',
     'seen_to': 'coalesce(first_activity_after_deletion_at, event_time)', 'evidence_key': 'event_key',
     'occurrences': 'coalesce(events_after_deletion, 1)'},
    {'kind': 'export_anomaly', 'mart': 'rpt_data_exports', 'flag': 'is_anomalous', 'subject': 'user_name',
     'bucket': "strftime(export_date, '%Y-%m-%d')", 'seen_from': 'cast(export_date as timestamptz)',
     'seen_to': "cast(export_date as timestamptz) + interval '1 day' - interval '1 second'",
     'evidence_key': 'export_key', 'occurrences': 'exports + shares'},
    {'kind': 'audit_log_access', 'mart': 'rpt_audit_log_access',
     'flag': "evidence_source = 'vendor_audit_log' and not is_auditlake",
     'subject': 'coalesce(accessed_by, accessed_by_id, actor_ip)', 'bucket': "strftime(accessed_at, '%Y-%m-%d')",
     'seen_from': 'accessed_at', 'seen_to': 'accessed_at', 'evidence_key': 'access_key', 'occurrences': '1'},
    {'kind': 'off_hours_connection_change', 'mart': 'rpt_connection_changes', 'flag': 'is_off_hours',
     'subject': "coalesce(changed_by, changed_by_id) || ' on ' || coalesce(connection_name, connection_id, target_type)",
     'bucket': "strftime(event_time, '%Y-%m-%d')", 'seen_from': 'event_time', 'seen_to': 'event_time',
     'evidence_key': 'event_key', 'occurrences': '1'},
    {'kind': 'cross_product_leaver', 'mart': 'rpt_access_review', 'flag': 'is_cross_product_leaver',
     'subject': 'coalesce(account_name, account_id)', 'bucket': "'state'", 'seen_from': 'review_as_of',
     'seen_to': 'review_as_of', 'evidence_key': 'review_key', 'occurrences': '1'},
    {'kind': 'token_never_revoked', 'mart': 'rpt_api_tokens', 'flag': 'is_never_revoked',
     'subject': "coalesce(token_name, token_id) || ' by ' || coalesce(actor_name, actor_id)", 'bucket': "'state'",
     'seen_from': 'event_time', 'seen_to': 'event_time', 'evidence_key': 'event_key', 'occurrences': '1'},
] %}

with flagged as (
    {%- for k in kinds %}
    select
        '{{ k.kind }}' as kind,
        source_system,
        source_instance,
        {{ k.subject }} as subject,
        {{ k.bucket }} as time_bucket,
        {{ k.seen_from }} as seen_from,
        {{ k.seen_to }} as seen_to,
        {{ k.evidence_key }} as evidence_key,
        {{ k.occurrences }} as occurrences
    from {{ ref(k.mart) }}
    where {{ k.flag }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

current_findings as (
    select
        md5(concat_ws('|', f.kind, f.source_system, f.source_instance, f.subject, f.time_bucket)) as finding_key,
        f.kind, f.source_system, f.source_instance, f.subject, f.time_bucket,
        min(f.seen_from) as first_seen,
        max(f.seen_to) as last_seen,
        sum(f.occurrences) as occurrences,
        -- sorted so the pointer (and the row) is the same on every build with the same evidence
        string_agg(f.evidence_key, ',' order by f.evidence_key) as evidence_keys
    from flagged f
    where f.subject is not null
    group by all
),

{% if is_incremental() -%}
merged as (
    select
        coalesce(c.finding_key, s.finding_key) as finding_key,
        coalesce(c.kind, s.kind) as kind,
        coalesce(c.source_system, s.source_system) as source_system,
        coalesce(c.source_instance, s.source_instance) as source_instance,
        coalesce(c.subject, s.subject) as subject,
        coalesce(c.time_bucket, s.time_bucket) as time_bucket,
        -- the marts' current evidence when still flagged (a restatement moves it), else what was stored
        coalesce(c.first_seen, s.first_seen) as first_seen,
        coalesce(c.last_seen, s.last_seen) as last_seen,
        coalesce(c.occurrences, s.occurrences) as occurrences,
        coalesce(c.evidence_keys, s.evidence_keys) as evidence_keys,
        c.finding_key is not null as is_flagged,
        coalesce(s.detected_at, now()) as detected_at
    from current_findings c
    full outer join {{ this }} s on c.finding_key = s.finding_key
),

{% else -%}
merged as (
    select *, true as is_flagged, now() as detected_at from current_findings
),

{% endif -%}

final as (
    select
        m.finding_key,
        m.kind,
        coalesce(k.severity, 'medium') as severity,
        coalesce(k.title, m.kind) as title,
        m.source_system,
        m.source_instance,
        m.subject,
        m.time_bucket,
        m.first_seen,
        m.last_seen,
        cast(m.occurrences as bigint) as occurrences,
        case
            when not m.is_flagged then 'resolved'
            when m.time_bucket <> 'state' and m.last_seen < now() - interval '{{ open_days }} days' then 'resolved'
            else 'open'
        end as status,
        coalesce(k.evidence_model, 'compliance') as evidence_model,
        m.evidence_keys,
        coalesce(k.controls, '') as controls,
        m.detected_at,
        now() as updated_at
    from merged m
    left join {{ ref('finding_kinds') }} k on m.kind = k.kind
)

select * from final
