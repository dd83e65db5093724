-- Every complete entitlement snapshot of every product instance, with the snapshot before it and the first one
-- (no state can be read for a moment before an instance's first snapshot).
with snapshots as (
    select * from {{ ref('stg_thoughtspot_entitlements__snapshots') }}
    union all
    select * from {{ ref('stg_mode_entitlements__snapshots') }}
)

select
    source_system,
    source_instance,
    snapshot_at,
    lag(snapshot_at) over (partition by source_system, source_instance order by snapshot_at) as previous_snapshot_at,
    min(snapshot_at) over (partition by source_system, source_instance) as first_snapshot_at,
    scope,
    row_counts
from snapshots
