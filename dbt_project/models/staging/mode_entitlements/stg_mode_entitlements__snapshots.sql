-- Complete Mode entitlement snapshots (a snapshot with a failed page has no row).
select
    'mode' as source_system,
    source_instance,
    snapshot_at,
    scope,
    row_counts
from {{ entitlement_source('raw_mode_entitlements', 'snapshot_runs') }}
where is_complete
