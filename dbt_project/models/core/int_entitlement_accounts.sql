-- Accounts of both products (scd2 versions) with the person they belong to: the override seed, else the e-mail.
with accounts as (
    select * from {{ ref('stg_thoughtspot_entitlements__accounts') }}
    union all
    select * from {{ ref('stg_mode_entitlements__accounts') }}
),

overrides as (
    select
        source_system,
        nullif(trim(source_instance), '') as source_instance,
        account_name,
        lower(trim(person_email)) as person_email
    from {{ ref('entitlement_identity_overrides') }}
)

select
    a.*,
    coalesce(
        (select max(o.person_email) from overrides o
         where o.source_system = a.source_system and o.account_name = a.account_name
           and coalesce(o.source_instance, a.source_instance) = a.source_instance),
        a.email
    ) as person_key
from accounts a
