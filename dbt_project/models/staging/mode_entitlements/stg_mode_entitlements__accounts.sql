-- Mode workspace members, one row per scd2 version. Mode publishes no sign-in method per member: only
-- `managed_by_scim` (provisioned by the IdP) says "sso"; anything else is "unknown", never guessed as local.
select
    'mode' as source_system,
    m.source_instance,
    m.member_token as account_id,
    m.username as account_name,
    m.display_name,
    lower(nullif(trim(email), '')) as email,
    case when m.managed_by_scim then 'SCIM' end as vendor_account_type,
    case when m.managed_by_scim then 'sso' else 'unknown' end as account_type,
    lower(coalesce(m.state, 'unknown')) as status,
    m.activated_at as created_at,
    cast(null as timestamp with time zone) as first_login_at,
    m.valid_from,
    {{ entitlement_valid_to('raw_mode_entitlements', 'mode_memberships', 'm') }} as valid_to
from {{ entitlement_source('raw_mode_entitlements', 'mode_memberships') }} m
