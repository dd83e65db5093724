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
    open a second finding), for authentication findings the UTC day their burst started (so a brute force across
    midnight stays one finding; a burst within one day keeps that day's key), and `state` for findings about an
    account's current state. On upgrade from the calendar-day bucket, a stored finding for the day after midnight
    of a crossing burst is kept as `resolved`, and nothing is alerted again (the start day's key is unchanged).
    A late failure that joins a burst across midnight before the burst's known start moves it to the earlier
    day: a new key, alerted once, and the later day's finding resolved.

    Incremental: every build recomputes the current findings from the marts (they are small) and merges them with
    the stored ones, so detected_at never moves, and a stored finding the marts no longer flag (a
    restatement, a leaver finally removed) stays as `resolved` instead of vanishing from the record. An event
    finding whose last evidence is older than var findings_open_days is resolved as well (aged out of review). -#}
{%- set open_days = var('findings_open_days') | int %}
{#- Authentication evidence of one kind about one subject with no pause longer than the brute-force window between
    its rows is one burst. -#}
{%- set burst_gap_minutes = var('brute_force_window_minutes') | int %}

{#- Where each mart's evidence starts and ends and its rows' key (macros/finding_evidence_rows.sql). -#}
{%- set failures = {'mart': 'rpt_authentication_failures', 'from': 'first_failure_at', 'to': 'last_failure_at',
                    'key': 'failure_key'} %}
{%- set privileged_changes = {'mart': 'rpt_privileged_changes', 'from': 'event_time', 'key': 'event_key'} %}
{%- set leavers = {'mart': 'rpt_user_lifecycle', 'from': 'event_time',
                   'to': 'coalesce(first_activity_after_deletion_at, event_time)', 'key': 'event_key'} %}
{%- set export_days = {'mart': 'rpt_data_exports', 'from': 'cast(export_date as timestamptz)',
                       'to': "cast(export_date as timestamptz) + interval '1 day' - interval '1 second'",
                       'key': 'export_key'} %}
{%- set log_reads = {'mart': 'rpt_audit_log_access', 'from': 'accessed_at', 'key': 'access_key'} %}
{%- set connection_changes = {'mart': 'rpt_connection_changes', 'from': 'event_time', 'key': 'event_key'} %}
{%- set reviews = {'mart': 'rpt_access_review', 'from': 'review_as_of', 'key': 'review_key'} %}
{%- set tokens = {'mart': 'rpt_api_tokens', 'from': 'event_time', 'key': 'event_key'} %}

{#- One call per kind: kind, subject, time bucket, evidence, flag[, occurrences]. -#}
with flagged as (
    {{ finding_evidence_rows('brute_force_by_user', 'user_name', 'burst', failures, 'is_brute_force_by_user',
                             'failed_logins') }}
    union all
    {{ finding_evidence_rows('brute_force_by_ip', 'actor_ip', 'burst', failures, 'is_brute_force_by_ip',
                             'failed_logins') }}
    union all
    {{ finding_evidence_rows('success_after_failures', 'user_name', 'burst',
                             dict(failures, to='coalesce(success_after_failure_at, last_failure_at)'),
                             'is_followed_by_success') }}
    union all
    {{ finding_evidence_rows('account_lockout', "coalesce(user_name, actor_ip, 'unknown account')", 'burst',
                             failures, 'is_lockout', 'lockouts') }}
    union all
    {{ finding_evidence_rows('self_grant', 'coalesce(changed_by, changed_by_id)', 'day', privileged_changes,
                             'is_self_grant') }}
    union all
    {{ finding_evidence_rows('admin_grant',
                             'coalesce(subject_user_name, subject_user_id, target_name, target_id, changed_by)', 'day',
                             privileged_changes, 'is_admin_grant') }}
    union all
    {{ finding_evidence_rows('activity_after_deletion', 'coalesce(user_name, user_id)', 'state', leavers,
                             'activity_after_deletion', 'coalesce(events_after_deletion, 1)') }}
    union all
    {{ finding_evidence_rows('export_anomaly', 'user_name', 'day', export_days, 'is_anomalous',
                             'exports + shares') }}
    union all
    {{ finding_evidence_rows('audit_log_access', 'coalesce(accessed_by, accessed_by_id, actor_ip)', 'day', log_reads,
                             "evidence_source = 'vendor_audit_log' and not is_auditlake") }}
    union all
    {{ finding_evidence_rows('off_hours_connection_change',
                             "coalesce(changed_by, changed_by_id) || ' on ' || "
                             ~ "coalesce(connection_name, connection_id, target_type)",
                             'day', connection_changes, 'is_off_hours') }}
    union all
    {{ finding_evidence_rows('cross_product_leaver', 'coalesce(account_name, account_id)', 'state', reviews,
                             'is_cross_product_leaver') }}
    union all
    {{ finding_evidence_rows('token_never_revoked',
                             "coalesce(token_name, token_id) || ' by ' || coalesce(actor_name, actor_id)", 'state',
                             tokens, 'is_never_revoked') }}
),

chained as (
    select
        *,
        -- a burst starts where the evidence begins more than the gap after all earlier evidence ended
        coalesce(
            seen_from > max(seen_to) over earlier + interval '{{ burst_gap_minutes }} minutes', true
        ) as starts_burst
    from flagged
    where in_bursts
    window earlier as (
        partition by kind, source_system, source_instance, subject
        order by seen_from, seen_to, evidence_key rows between unbounded preceding and 1 preceding
    )
),

numbered as (
    select
        *,
        sum(cast(starts_burst as integer)) over (
            partition by kind, source_system, source_instance, subject
            order by seen_from, seen_to, evidence_key rows unbounded preceding
        ) as burst_number
    from chained
),

bucketed as (
    -- a burst is bucketed by the UTC day it started: one that does not cross midnight keeps the day's key, and
    -- one that does stays one finding (under the day it started)
    select
        kind, source_system, source_instance, subject,
        strftime(
            min(seen_from) over (partition by kind, source_system, source_instance, subject, burst_number), '%Y-%m-%d'
        ) as time_bucket,
        seen_from, seen_to, evidence_key, occurrences
    from numbered
    union all
    select kind, source_system, source_instance, subject, time_bucket, seen_from, seen_to, evidence_key, occurrences
    from flagged
    where not in_bursts
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
    from bucketed f
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
