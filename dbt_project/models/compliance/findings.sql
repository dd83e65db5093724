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
    the stored ones, so first_seen / detected_at never move, and a stored finding the marts no longer flag (a
    restatement, a leaver finally removed) stays as `resolved` instead of vanishing from the record. An event
    finding whose last evidence is older than var findings_open_days is resolved as well (aged out of review). -#}
{%- set open_days = var('findings_open_days') | int %}

with flagged as (
    select 'brute_force_by_user' as kind, source_system, source_instance, user_name as subject,
        strftime(failure_hour, '%Y-%m-%d') as time_bucket, first_failure_at as seen_from,
        last_failure_at as seen_to, failure_key as evidence_key, failed_logins as occurrences
    from {{ ref('rpt_authentication_failures') }}
    where is_brute_force_by_user and user_name is not null

    union all
    select 'brute_force_by_ip', source_system, source_instance, actor_ip, strftime(failure_hour, '%Y-%m-%d'),
        first_failure_at, last_failure_at, failure_key, failed_logins
    from {{ ref('rpt_authentication_failures') }}
    where is_brute_force_by_ip and actor_ip is not null

    union all
    select 'success_after_failures', source_system, source_instance, user_name, strftime(failure_hour, '%Y-%m-%d'),
        first_failure_at, coalesce(success_after_failure_at, last_failure_at), failure_key, 1
    from {{ ref('rpt_authentication_failures') }}
    where is_followed_by_success and user_name is not null

    union all
    select 'account_lockout', source_system, source_instance, coalesce(user_name, actor_ip, 'unknown account'),
        strftime(failure_hour, '%Y-%m-%d'), first_failure_at, last_failure_at, failure_key, lockouts
    from {{ ref('rpt_authentication_failures') }}
    where is_lockout

    union all
    select 'self_grant', source_system, source_instance, coalesce(changed_by, changed_by_id),
        strftime(event_time, '%Y-%m-%d'), event_time, event_time, event_key, 1
    from {{ ref('rpt_privileged_changes') }}
    where is_self_grant

    union all
    select 'admin_grant', source_system, source_instance,
        coalesce(subject_user_name, subject_user_id, target_name, target_id, changed_by),
        strftime(event_time, '%Y-%m-%d'), event_time, event_time, event_key, 1
    from {{ ref('rpt_privileged_changes') }}
    where is_admin_grant

    union all
    select 'activity_after_deletion', source_system, source_instance, coalesce(user_name, user_id), 'state',
        event_time, coalesce(first_activity_after_deletion_at, event_time), event_key, coalesce(events_after_deletion, 1)
    from {{ ref('rpt_user_lifecycle') }}
    where activity_after_deletion

    union all
    select 'export_anomaly', source_system, source_instance, user_name, strftime(export_date, '%Y-%m-%d'),
        cast(export_date as timestamptz), cast(export_date as timestamptz) + interval 1 day - interval 1 second,
        export_key, exports + shares
    from {{ ref('rpt_data_exports') }}
    where is_anomalous

    union all
    select 'audit_log_access', source_system, source_instance, coalesce(accessed_by, accessed_by_id, actor_ip),
        strftime(accessed_at, '%Y-%m-%d'), accessed_at, accessed_at, access_key, 1
    from {{ ref('rpt_audit_log_access') }}
    where evidence_source = 'vendor_audit_log' and not is_auditlake

    union all
    select 'off_hours_connection_change', source_system, source_instance,
        coalesce(changed_by, changed_by_id) || ' on ' || coalesce(connection_name, connection_id, target_type),
        strftime(event_time, '%Y-%m-%d'), event_time, event_time, event_key, 1
    from {{ ref('rpt_connection_changes') }}
    where is_off_hours

    union all
    select 'cross_product_leaver', source_system, source_instance, coalesce(account_name, account_id), 'state',
        review_as_of, review_as_of, review_key, 1
    from {{ ref('rpt_access_review') }}
    where is_cross_product_leaver

    union all
    select 'token_never_revoked', source_system, source_instance,
        coalesce(token_name, token_id) || ' by ' || coalesce(actor_name, actor_id), 'state',
        event_time, event_time, event_key, 1
    from {{ ref('rpt_api_tokens') }}
    where is_never_revoked
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
    from flagged as f
    where f.subject is not null
    group by all
),

{%- if is_incremental() %}
merged as (
    select
        coalesce(c.finding_key, s.finding_key) as finding_key,
        coalesce(c.kind, s.kind) as kind,
        coalesce(c.source_system, s.source_system) as source_system,
        coalesce(c.source_instance, s.source_instance) as source_instance,
        coalesce(c.subject, s.subject) as subject,
        coalesce(c.time_bucket, s.time_bucket) as time_bucket,
        least(c.first_seen, s.first_seen) as first_seen,
        greatest(c.last_seen, s.last_seen) as last_seen,
        coalesce(c.occurrences, s.occurrences) as occurrences,
        coalesce(c.evidence_keys, s.evidence_keys) as evidence_keys,
        c.finding_key is not null as is_flagged,
        coalesce(s.detected_at, now()) as detected_at
    from current_findings as c
    full outer join {{ this }} as s on c.finding_key = s.finding_key
),
{%- else %}
merged as (
    select *, true as is_flagged, now() as detected_at from current_findings
),
{%- endif %}

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
    from merged as m
    left join {{ ref('finding_kinds') }} as k on m.kind = k.kind
)

select * from final
