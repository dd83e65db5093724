-- What a ThoughtSpot account holds, one row per scd2 version: its groups (direct or inherited through
-- nesting) and its effective privileges (users/search returns them already resolved through groups and roles).
select
    'thoughtspot' as source_system,
    g.source_instance,
    g.user_id as account_id,
    'group' as grant_type,
    g.group_id as grant_id,
    coalesce(g.group_name, g.group_id) as grant_name,
    g.membership as granted_via,
    g.valid_from,
    {{ entitlement_valid_to('raw_thoughtspot_entitlements', 'ts_user_groups', 'g') }} as valid_to
from {{ entitlement_source('raw_thoughtspot_entitlements', 'ts_user_groups') }} g
union all
select
    'thoughtspot' as source_system,
    p.source_instance,
    p.user_id as account_id,
    'privilege' as grant_type,
    p.privilege as grant_id,
    p.privilege as grant_name,
    'effective' as granted_via,
    p.valid_from,
    {{ entitlement_valid_to('raw_thoughtspot_entitlements', 'ts_user_privileges', 'p') }}
from {{ entitlement_source('raw_thoughtspot_entitlements', 'ts_user_privileges') }} p
