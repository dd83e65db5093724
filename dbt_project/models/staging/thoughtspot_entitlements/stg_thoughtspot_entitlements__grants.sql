-- What a ThoughtSpot account holds, one row per scd2 version: its groups (direct or inherited through
-- nesting) and its effective privileges (users/search returns them already resolved through groups and roles).
select
    'thoughtspot' as source_system,
    source_instance,
    user_id as account_id,
    'group' as grant_type,
    group_id as grant_id,
    coalesce(group_name, group_id) as grant_name,
    membership as granted_via,
    valid_from,
    {{ entitlement_valid_to('raw_thoughtspot_entitlements', 'ts_user_groups', 'g') }} as valid_to
from {{ entitlement_source('raw_thoughtspot_entitlements', 'ts_user_groups') }} as g
union all
select
    'thoughtspot',
    source_instance,
    user_id,
    'privilege',
    privilege,
    privilege,
    'effective',
    valid_from,
    {{ entitlement_valid_to('raw_thoughtspot_entitlements', 'ts_user_privileges', 'p') }}
from {{ entitlement_source('raw_thoughtspot_entitlements', 'ts_user_privileges') }} as p
