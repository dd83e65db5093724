-- The periodic access review as of any date (var access_review_as_of, a UTC timestamp; default now): one row per
-- account per product instance from the entitlement snapshots (what IS held, not what was done), with the last
-- successful login from the audit log. The state read is the latest complete snapshot at or before the as-of date;
-- an instance with no snapshot by then has no rows (state before the first snapshot is unknown, never guessed).
{%- set as_of = var('access_review_as_of', none) %}
with as_of as (
    select {% if as_of %}cast('{{ as_of }}' as timestamp with time zone){% else %}current_timestamp{% endif %}
        as review_as_of
),

governing as (
    select s.source_system, s.source_instance, max(s.snapshot_at) as snapshot_at,
        min(s.first_snapshot_at) as first_snapshot_at
    from {{ ref('int_entitlement_snapshots') }} s
    cross join as_of a
    where s.snapshot_at <= a.review_as_of
    group by 1, 2
),

versions as (
    select
        acc.*,
        row_number() over (
            partition by acc.source_system, acc.source_instance, acc.account_id order by acc.valid_from desc
        ) as version_rank
    from {{ ref('int_entitlement_accounts') }} acc
    cross join as_of a
    where acc.valid_from <= a.review_as_of
),

accounts as (
    select v.*, g.snapshot_at, g.first_snapshot_at, a.review_as_of,
        v.valid_to is null or v.valid_to > a.review_as_of as is_present
    from versions v
    cross join as_of a
    inner join governing g on v.source_system = g.source_system and v.source_instance = g.source_instance
    where v.version_rank = 1
),

held as (
    select
        g.source_system, g.source_instance, g.account_id,
        array_to_string(list_sort(list_distinct(
            list(g.grant_name || case when g.granted_via = 'inherited' then ' (inherited)' else '' end)
                filter (where g.grant_type = 'group'))), ', ') as group_names,
        array_to_string(list_sort(list_distinct(list(g.grant_name) filter (where g.grant_type = 'privilege'))), ', ')
            as privileges,
        coalesce(bool_or(g.privilege_tier = 'P0'), false) as is_privileged,
        min(g.privilege_tier) as highest_privilege_tier
    from {{ ref('int_entitlement_grants') }} g
    cross join as_of a
    where g.valid_from <= a.review_as_of and (g.valid_to is null or g.valid_to > a.review_as_of)
    group by 1, 2, 3
),

-- Last login / last activity: whole days before the as-of day from the daily rollup, the as-of day itself (up to
-- the as-of instant) from the fact, so a build reads days plus one day of events, not the whole history.
as_of_day as (
    select review_as_of, cast(cast(review_as_of as date) as timestamp with time zone) as day_start from as_of
),

same_day as (
    select f.source_system, f.source_instance, f.actor_id, lower(f.actor_name) as actor_name, f.event_time,
        f.event_category = 'authentication' and f.event_action = 'login' and f.outcome = 'success' as is_login
    from {{ ref('fct_audit_events') }} f
    cross join as_of_day a
    where f.event_time >= a.day_start and f.event_time <= a.review_as_of
),

activity as (
    select source_system, source_instance, actor_key, max(last_login_at) as last_login_at,
        max(last_activity_at) as last_activity_at
    from (
        select d.source_system, d.source_instance, d.actor_key, d.last_login_at, d.last_activity_at
        from {{ ref('int_actor_activity_daily') }} d
        cross join as_of_day a
        where d.activity_date < cast(a.day_start as date)
        union all
        select source_system, source_instance, actor_id, case when is_login then event_time end as last_login_at,
            event_time
        from same_day
        where actor_id is not null
        union all
        select source_system, source_instance, actor_name, case when is_login then event_time end as last_login_at,
            event_time
        from same_day
        where actor_name is not null
    ) keyed
    group by 1, 2, 3
),

-- The start of the audit log held for each instance (any event, with or without an actor).
coverage as (
    select f.source_system, f.source_instance, min(f.event_time) as logged_from
    from {{ ref('fct_audit_events') }} f
    cross join as_of a
    where f.event_time <= a.review_as_of
    group by 1, 2
),

removals as (
    select source_system, source_instance, account_id, event_time
    from {{ ref('int_entitlement_change_events') }}
    where change = 'account_removed'
),

reviewed as (
    select
        acc.review_as_of,
        acc.source_system,
        acc.source_instance,
        acc.account_id,
        acc.account_name,
        acc.display_name,
        acc.email,
        acc.person_key,
        acc.account_type,
        acc.vendor_account_type,
        case when acc.is_present then acc.status else 'removed' end as status,
        coalesce(h.group_names, '') as group_names,
        coalesce(h.privileges, '') as privileges,
        coalesce(h.is_privileged, false) as is_privileged,
        coalesce(h.highest_privilege_tier, 'baseline') as highest_privilege_tier,
        acc.created_at,
        case when not acc.is_present then coalesce(
            (select max(r.event_time) from removals r
             where r.source_system = acc.source_system and r.source_instance = acc.source_instance
               and r.account_id = acc.account_id and r.event_time <= acc.valid_to),
            acc.valid_to) end as deleted_at,
        acc.first_login_at,
        (select max(x.last_login_at) from activity x
         where x.source_system = acc.source_system and x.source_instance = acc.source_instance
           and x.actor_key in (acc.account_id, lower(acc.account_name))) as last_login_at,
        (select max(x.last_activity_at) from activity x
         where x.source_system = acc.source_system and x.source_instance = acc.source_instance
           and x.actor_key in (acc.account_id, lower(acc.account_name))) as last_activity_at,
        c.logged_from,
        acc.snapshot_at,
        acc.first_snapshot_at
    from accounts acc
    left join held h
        on acc.source_system = h.source_system and acc.source_instance = h.source_instance
        and acc.account_id = h.account_id
    left join coverage c
        on acc.source_system = c.source_system and acc.source_instance = c.source_instance
),

judged as (
    select
        r.*,
        -- ThoughtSpot says when an account never logged in (first_login 0/null) and the log has no login either
        r.source_system = 'thoughtspot' and r.first_login_at is null and r.last_login_at is null
            as has_never_logged_in,
        -- inactive since: the last login (Mode logs no logins: its last action); else, for an account that never
        -- logged in, its creation; else the start of the audit log we hold (no login since then at least).
        -- Null when nothing is known: no audit event of the instance and no first-login evidence.
        coalesce(
            r.last_login_at,
            case when r.source_system = 'mode' then r.last_activity_at end,
            case when r.source_system = 'thoughtspot' and r.first_login_at is null then r.created_at end,
            case when r.logged_from is not null then greatest(r.created_at, r.logged_from) end
        ) as inactive_since
    from reviewed r
)

select
    md5(concat_ws('|', source_system, source_instance, account_id)) as review_key,
    review_as_of,
    source_system,
    source_instance,
    account_id,
    account_name,
    display_name,
    email,
    person_key,
    account_type,
    vendor_account_type,
    status,
    group_names,
    privileges,
    highest_privilege_tier,
    is_privileged,
    created_at,
    deleted_at,
    last_login_at,
    last_activity_at,
    has_never_logged_in,
    -- greatest() skips nulls: unknown stays null rather than becoming 0
    case when inactive_since is not null
        then cast(greatest(0, date_diff('day', inactive_since, review_as_of)) as integer) end as days_inactive,
    coalesce(status = 'active'
        and greatest(0, date_diff('day', inactive_since, review_as_of)) >= {{ var('dormant_after_days') }}, false)
        as is_dormant,
    status = 'removed' and last_activity_at > deleted_at as has_activity_after_removal,
    -- cross-product identity (by person_key): nothing to match when the account has no e-mail or override
    person_key is null or not exists (
        select 1 from judged o
        where o.person_key = j.person_key and o.source_system <> j.source_system
    ) as is_unmatched,
    status = 'active' and exists (
        select 1 from judged o
        where o.person_key = j.person_key and o.source_system <> j.source_system
          and o.status in ('removed', 'deleted', 'inactive', 'suspended', 'expired')
    ) as is_cross_product_leaver,
    (select array_to_string(list_sort(list(o.source_system || ':' || o.status)), ', ') from judged o
     where o.person_key = j.person_key and o.source_system <> j.source_system) as other_product_statuses,
    snapshot_at,
    first_snapshot_at
from judged j
