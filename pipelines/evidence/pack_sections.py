"""The sections of the evidence pack: title, the controls each serves, the SQL that produced it (shown in the pack).

Every query reads the compliance marts (or core), never raw, and takes the period as `$period_start` /
`$period_end` (UTC dates, both inclusive). The SQL text is what the pack prints, so it is written for people too.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    controls: tuple[str, ...]
    intro: str
    sql: str
    # marts the query reads: a missing one makes the section say so instead of failing the pack
    reads: tuple[str, ...]
    chart: str | None = None
    # the rows the chart draws, when they are not the table's (shown under the chart's SQL)
    chart_sql: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


IN_PERIOD = "between $period_start and $period_end"

SECTIONS: tuple[Section, ...] = (
    Section(
        key="findings",
        title="Findings in the period",
        controls=("SOC 2 CC7.2", "ISO 27001 A.8.16", "PCI DSS 10.4.1"),
        intro="Every finding the marts flagged with evidence in the period (compliance.findings), most severe first.",
        sql=f"""select severity, kind, title, source_system, source_instance, subject, time_bucket,
       first_seen, last_seen, occurrences, status, evidence_model, evidence_keys, finding_key
from compliance.findings
where cast(last_seen as date) >= $period_start and cast(first_seen as date) <= $period_end
   or (time_bucket = 'state' and cast(detected_at as date) {IN_PERIOD})
order by case severity when 'critical' then 0 when 'high' then 1 when 'medium' then 2 when 'low' then 3 else 4 end,
         first_seen, kind, subject""",
        reads=("compliance.findings",),
    ),
    Section(
        key="scope_coverage",
        title="Scope and coverage",
        controls=("SOC 2 CC7.2", "ISO 27001 A.8.15", "PCI DSS 10.2", "PCI DSS 10.3", "PCI DSS 10.5"),
        intro=(
            "Per source instance and UTC day: whether the fetched windows cover the whole day and reconcile "
            "(complete), or not - recoverable while the day is inside the vendors' 30-day retention (a backfill "
            "can re-read it), lost once it is older - and whether the day is sealed into the tamper-evident "
            "hash chain (compliance.rpt_integrity_chain)."
        ),
        sql=f"""select e.source_system, e.source_instance, e.evidence_date,
       e.events_loaded, e.windows_fetched, e.records_fetched, e.quarantined_records, e.late_arrivals,
       e.windows_cover_day, e.is_reconciled, e.is_complete,
       case when e.is_complete then 'complete'
            when e.evidence_date >= current_date - interval 30 day then 'gap recoverable'
            else 'lost' end as coverage_status,
       case when c.chain_hash is not null then 'sealed' else 'not sealed' end as chain_status,
       c.chain_position, c.chain_hash
from compliance.rpt_pipeline_evidence as e
left join compliance.rpt_integrity_chain as c
  on c.source_system = e.source_system and c.source_instance = e.source_instance
 and c.evidence_date = e.evidence_date
where e.evidence_date {IN_PERIOD}
order by e.source_system, e.source_instance, e.evidence_date""",
        reads=("compliance.rpt_pipeline_evidence", "compliance.rpt_integrity_chain"),
        chart="coverage_heatmap",
    ),
    Section(
        key="authentication",
        title="Authentication failures, brute force and lockouts",
        controls=("SOC 2 CC6.1", "SOC 2 CC7.2", "ISO 27001 A.5.17", "ISO 27001 A.8.16", "PCI DSS 10.2.1.4"),
        intro=(
            "Failed logins and lockouts per user, IP and hour; brute force by user and by source IP (sliding "
            "window), lockouts, and a success after repeated failures. The chart shows every failure; the table "
            "lists the flagged hours."
        ),
        sql=f"""select source_system, source_instance, failure_hour, user_name, actor_ip, failed_logins, lockouts,
       is_brute_force_by_user, is_brute_force_by_ip, is_lockout, is_followed_by_success,
       success_after_failure_at, failure_key
from compliance.rpt_authentication_failures
where cast(failure_hour as date) {IN_PERIOD}
  and (is_brute_force or is_lockout or is_followed_by_success)
order by failure_hour, source_system, user_name""",
        reads=("compliance.rpt_authentication_failures",),
        chart="authentication_series",
        chart_sql=f"""select cast(failure_hour as date) as day, sum(failed_logins) as failed_logins,
       sum(lockouts) as lockouts, count(*) filter (where is_brute_force) as brute_force_hours
from compliance.rpt_authentication_failures
where cast(failure_hour as date) {IN_PERIOD}
group by 1 order by 1""",
    ),
    Section(
        key="privileged_changes",
        title="Privileged changes, self-grants and admin grants",
        controls=(
            "SOC 2 CC6.2",
            "SOC 2 CC6.3",
            "ISO 27001 A.5.15",
            "ISO 27001 A.5.18",
            "PCI DSS 10.2.1.2",
            "PCI DSS 10.2.1.5",
        ),
        intro=(
            "Changes to who may do what (privileges, roles, group membership, sharing of administrative objects), "
            "with the direction, whether the vendor confirms the change happened, self-grants and admin grants."
        ),
        sql=f"""select source_system, source_instance, event_time, event_type, change_direction, outcome,
       is_change_confirmed, changed_by, target_type, target_name, subject_user_name,
       is_self_grant, is_admin_grant, is_off_hours, event_key
from compliance.rpt_privileged_changes
where cast(event_time as date) {IN_PERIOD}
order by (is_self_grant or is_admin_grant) desc, event_time""",
        reads=("compliance.rpt_privileged_changes",),
    ),
    Section(
        key="joiners_movers_leavers",
        title="Joiners, movers and leavers",
        controls=("SOC 2 CC6.2", "ISO 27001 A.5.16", "ISO 27001 A.5.18", "PCI DSS 10.2.1"),
        intro=(
            "Accounts created (joiners), changed (movers: roles, groups) and deleted (leavers), and leavers "
            "whose account acted after its deletion."
        ),
        sql=f"""select source_system, source_instance, event_time, lifecycle_stage, lifecycle_action, user_name,
       performed_by, outcome, is_change_confirmed, activity_after_deletion, events_after_deletion,
       first_activity_after_deletion_at, event_key
from compliance.rpt_user_lifecycle
where cast(event_time as date) {IN_PERIOD}
order by activity_after_deletion desc, event_time""",
        reads=("compliance.rpt_user_lifecycle",),
        extra={
            "cross_product_leavers": """select source_system, source_instance, account_name, email, status,
       other_product_statuses, last_activity_at, snapshot_at
from compliance.rpt_access_review
where is_cross_product_leaver
order by source_system, account_name""",
        },
    ),
    Section(
        key="data_exports",
        title="Data exports and anomalies",
        controls=("SOC 2 CC6.1", "SOC 2 CC7.2", "ISO 27001 A.8.16", "PCI DSS 10.2.1"),
        intro=(
            "Exports and shares per user, object and day against the user's own baseline (mean per active day); "
            "anomalous days first."
        ),
        sql=f"""select source_system, source_instance, export_date, user_name, object_type, object_name, exports,
       shares, user_day_events, baseline_daily_events, prior_active_days, is_anomalous, export_key
from compliance.rpt_data_exports
where export_date {IN_PERIOD}
order by is_anomalous desc, export_date, user_name""",
        reads=("compliance.rpt_data_exports",),
        chart="exports_series",
        chart_sql=f"""select export_date as day, sum(exports) as exports, sum(shares) as shares,
       count(distinct user_name) filter (where is_anomalous) as anomalous_users
from compliance.rpt_data_exports
where export_date {IN_PERIOD}
group by 1 order by 1""",
    ),
    Section(
        key="api_tokens",
        title="API tokens",
        controls=("SOC 2 CC6.1", "ISO 27001 A.5.17", "PCI DSS 10.2.1.5"),
        intro="API tokens created and revoked, and tokens never revoked.",
        sql=f"""select source_system, source_instance, event_time, event_type, event_action, outcome, actor_name,
       token_id, token_name, revoked_at, revoked_by, is_never_revoked, token_age_days, event_key
from compliance.rpt_api_tokens
where cast(event_time as date) {IN_PERIOD}
order by is_never_revoked desc nulls last, event_time""",
        reads=("compliance.rpt_api_tokens",),
    ),
    Section(
        key="audit_log_access",
        title="Access to the audit log itself",
        controls=("SOC 2 CC7.2", "ISO 27001 A.8.15", "PCI DSS 10.2.1.3", "PCI DSS 10.3"),
        intro=(
            "Who read the vendors' audit logs: reads the vendor logged (by people and integrations) and "
            "auditlake's own fetch windows."
        ),
        sql=f"""select evidence_source, source_system, source_instance, accessed_at, accessed_by, actor_ip,
       is_auditlake, window_start, window_end, records_returned, access_key
from compliance.rpt_audit_log_access
where cast(accessed_at as date) {IN_PERIOD}
order by is_auditlake, accessed_at""",
        reads=("compliance.rpt_audit_log_access",),
    ),
    Section(
        key="connection_changes",
        title="Connection changes",
        controls=("SOC 2 CC6.1", "SOC 2 CC7.2", "ISO 27001 A.8.15", "PCI DSS 10.2.1.5"),
        intro="Data connections created, edited, deleted or shared, and changes outside the tenant's business hours.",
        sql=f"""select source_system, source_instance, event_time, local_event_time, event_type, change_kind,
       outcome, changed_by, connection_name, connection_type, principal_name, principal_role, is_off_hours,
       event_key
from compliance.rpt_connection_changes
where cast(event_time as date) {IN_PERIOD}
order by is_off_hours desc, event_time""",
        reads=("compliance.rpt_connection_changes",),
    ),
    Section(
        key="access_review",
        title="Access review",
        controls=("SOC 2 CC6.2", "SOC 2 CC6.3", "ISO 27001 A.5.15", "ISO 27001 A.5.18", "PCI DSS 10.2.1.2"),
        intro=(
            "Who holds access at the end of the period, from the entitlement snapshots: privileged accounts, "
            "dormant accounts, accounts removed yet active, cross-product leavers. Needs entitlement snapshots."
        ),
        sql="""select source_system, source_instance, account_name, email, account_type, status,
       highest_privilege_tier, privileges, is_privileged, last_login_at, days_inactive, is_dormant,
       has_activity_after_removal, is_cross_product_leaver, snapshot_at
from compliance.rpt_access_review
where is_privileged or is_dormant or has_activity_after_removal or is_cross_product_leaver
order by is_privileged desc, source_system, account_name""",
        reads=("compliance.rpt_access_review",),
    ),
    Section(
        key="pipeline_health",
        title="Pipeline health",
        controls=("SOC 2 CC7.2", "ISO 27001 A.8.15", "PCI DSS 10.4.1", "PCI DSS 10.5.1"),
        intro=(
            "Per source instance over the period: fetch windows run, records fetched and loaded, re-read "
            "duplicates absorbed, unreconciled windows, quarantined records, late arrivals, days complete, days "
            "sealed; below, the entitlement state that contradicts the log (drift)."
        ),
        sql=f"""select e.source_system, e.source_instance, count(*) as days, sum(e.windows_fetched) as windows_fetched,
       sum(e.records_fetched) as records_fetched, sum(e.events_loaded) as events_loaded,
       sum(e.duplicates_absorbed) as duplicates_absorbed, sum(e.windows_unreconciled) as windows_unreconciled,
       sum(e.quarantined_records) as quarantined_records, sum(e.late_arrivals) as late_arrivals,
       count(*) filter (where e.is_complete) as days_complete,
       count(c.chain_hash) as days_sealed
from compliance.rpt_pipeline_evidence as e
left join compliance.rpt_integrity_chain as c
  on c.source_system = e.source_system and c.source_instance = e.source_instance
 and c.evidence_date = e.evidence_date
where e.evidence_date {IN_PERIOD}
group by all
order by 1, 2""",
        reads=("compliance.rpt_pipeline_evidence", "compliance.rpt_integrity_chain"),
        extra={
            "entitlement_drift": f"""select drift_type, change, source_system, source_instance, account_name,
       object_name, previous_snapshot_at, snapshot_at, event_time
from compliance.rpt_entitlement_drift
where cast(snapshot_at as date) {IN_PERIOD}
order by snapshot_at, source_system, account_name""",
        },
    ),
)


def by_key(key: str) -> Section:
    for section in SECTIONS:
        if section.key == key:
            return section
    raise KeyError(key)
