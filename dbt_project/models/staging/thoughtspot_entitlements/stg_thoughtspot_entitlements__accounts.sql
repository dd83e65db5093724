-- ThoughtSpot accounts, one row per scd2 version (valid_from / valid_to from the snapshots).
-- account_type: LOCAL_USER signs in with a ThoughtSpot password, bypassing the IdP (the review's "local" accounts).
select
    'thoughtspot' as source_system,
    u.source_instance,
    u.user_id as account_id,
    u.user_name as account_name,
    u.display_name,
    lower(nullif(trim(email), '')) as email,
    account_type as vendor_account_type,
    case
        when account_type = 'LOCAL_USER' then 'local'
        when account_type in ('SAML_USER', 'OIDC_USER') then 'sso'
        when account_type = 'LDAP_USER' then 'ldap'
        when account_type = 'REMOTE_USER' then 'trusted_auth'
        else 'unknown'
    end as account_type,
    case when u.is_deleted then 'deleted' else lower(coalesce(u.account_status, 'unknown')) end as status,
    u.created_at,
    u.first_login_at,
    u.valid_from,
    {{ entitlement_valid_to('raw_thoughtspot_entitlements', 'ts_users', 'u') }} as valid_to
from {{ entitlement_source('raw_thoughtspot_entitlements', 'ts_users') }} u
