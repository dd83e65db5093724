-- What a Mode member holds, one row per scd2 version: group memberships and the workspace Admin flag
-- ("Admins in Mode have the highest level of access to all resources by default"), as privilege WORKSPACE_ADMIN.
with group_names as (
    select source_instance, group_token, max(group_name) as group_name
    from {{ entitlement_source('raw_mode_entitlements', 'mode_groups') }}
    group by 1, 2
)

select
    'mode' as source_system,
    m.source_instance,
    m.member_token as account_id,
    'group' as grant_type,
    m.group_token as grant_id,
    coalesce(g.group_name, m.group_token) as grant_name,
    'direct' as granted_via,
    m.valid_from,
    {{ entitlement_valid_to('raw_mode_entitlements', 'mode_group_memberships', 'm') }} as valid_to
from {{ entitlement_source('raw_mode_entitlements', 'mode_group_memberships') }} m
left join group_names g
    on m.source_instance = g.source_instance and m.group_token = g.group_token
union all
select
    'mode' as source_system,
    a.source_instance,
    a.member_token as account_id,
    'privilege' as grant_type,
    'WORKSPACE_ADMIN' as grant_id,
    'WORKSPACE_ADMIN' as grant_name,
    'membership.admin' as granted_via,
    a.valid_from,
    {{ entitlement_valid_to('raw_mode_entitlements', 'mode_memberships', 'a') }}
from {{ entitlement_source('raw_mode_entitlements', 'mode_memberships') }} a
where a.is_admin
