-- What every account of both products holds (groups, privileges), one row per scd2 version, with the privilege tier.
with grants as (
    select * from {{ ref('stg_thoughtspot_entitlements__grants') }}
    union all
    select * from {{ ref('stg_mode_entitlements__grants') }}
)

select
    g.*,
    t.tier as privilege_tier
from grants g
left join {{ ref('entitlement_privilege_tiers') }} t
    on g.grant_type = 'privilege' and g.source_system = t.source_system and g.grant_id = t.privilege
