-- Complete ThoughtSpot entitlement snapshots (a snapshot with a failed page has no row).
select
    'thoughtspot' as source_system,
    source_instance,
    snapshot_at,
    scope,
    row_counts
from {{ entitlement_source('raw_thoughtspot_entitlements', 'snapshot_runs') }}
where is_complete
