-- State vs log reconciliation: entitlement changes between two consecutive snapshots that no audit event explains
-- (`unlogged_change`: e.g. a grant made outside the audited paths), and audit events the next snapshot contradicts
-- (`contradicted_by_state`: e.g. a removal that did not take effect). Only intervals the audit log fully covers
-- are judged (the previous snapshot is at or after the first audit event of that instance).
-- Judged: accounts appearing / disappearing, direct group memberships, the Mode workspace Admin flag.
with snapshots as (
    select * from {{ ref('int_entitlement_snapshots') }}
),

coverage as (
    select source_system, source_instance, min(event_time) as logged_from
    from {{ ref('fct_audit_events') }}
    group by 1, 2
),

events as (
    select * from {{ ref('int_entitlement_change_events') }}
),

accounts as (
    select
        source_system, source_instance, account_id, max(account_name) as account_name,
        min(valid_from) as first_from,
        case when bool_or(valid_to is null) then null else max(valid_to) end as gone_at
    from {{ ref('int_entitlement_accounts') }}
    group by 1, 2, 3
),

grants as (
    select source_system, source_instance, account_id, grant_type, grant_id, grant_name, valid_from, valid_to
    from {{ ref('int_entitlement_grants') }}
    where (grant_type = 'group' and granted_via = 'direct') or grant_id = 'WORKSPACE_ADMIN'
),

-- A grant held without interruption over several scd2 versions is one island: its start has no version ending
-- there, its end no version starting there.
grant_changes as (
    select g.source_system, g.source_instance, g.account_id, g.grant_id, g.grant_name, g.valid_from as changed_at,
        case when g.grant_id = 'WORKSPACE_ADMIN' then 'admin_granted' else 'group_joined' end as change
    from grants g
    where not exists (
        select 1 from grants p
        where p.source_system = g.source_system and p.source_instance = g.source_instance
          and p.account_id = g.account_id and p.grant_id = g.grant_id and p.valid_to = g.valid_from)
    union all
    select g.source_system, g.source_instance, g.account_id, g.grant_id, g.grant_name, g.valid_to,
        case when g.grant_id = 'WORKSPACE_ADMIN' then 'admin_revoked' else 'group_left' end as change
    from grants g
    where g.valid_to is not null and not exists (
        select 1 from grants n
        where n.source_system = g.source_system and n.source_instance = g.source_instance
          and n.account_id = g.account_id and n.grant_id = g.grant_id and n.valid_from = g.valid_to)
),

state_changes as (
    select source_system, source_instance, account_id, account_name, cast(null as varchar) as object_id,
        cast(null as varchar) as object_name, first_from as changed_at, 'account_created' as change
    from accounts
    union all
    select source_system, source_instance, account_id, account_name, null as object_id, null as object_name,
        gone_at as changed_at, 'account_removed' as change
    from accounts
    where gone_at is not null
    union all
    select c.source_system, c.source_instance, c.account_id, a.account_name, c.grant_id, c.grant_name, c.changed_at,
        c.change
    from grant_changes c
    inner join accounts a
        on c.source_system = a.source_system and c.source_instance = a.source_instance and c.account_id = a.account_id
),

unlogged as (
    select
        'unlogged_change' as drift_type, c.change, c.source_system, c.source_instance, c.account_id, c.account_name,
        c.object_id, c.object_name, s.previous_snapshot_at, s.snapshot_at,
        cast(null as varchar) as event_key, cast(null as timestamp with time zone) as event_time
    from state_changes c
    inner join snapshots s
        on c.source_system = s.source_system and c.source_instance = s.source_instance and c.changed_at = s.snapshot_at
    inner join coverage v
        on c.source_system = v.source_system and c.source_instance = v.source_instance
    where s.previous_snapshot_at is not null
      and s.previous_snapshot_at >= v.logged_from
      and not exists (
          select 1 from events e
          where e.source_system = c.source_system and e.source_instance = c.source_instance
            and e.event_time > s.previous_snapshot_at and e.event_time <= s.snapshot_at
            and (e.account_id = c.account_id or lower(e.account_name) = lower(c.account_name))
            and (
                (e.change = c.change and (c.object_id is null or c.change like 'admin_%' or e.object_id = c.object_id))
                -- an account that comes or goes takes its grants with it
                or (e.change = 'account_removed' and c.change in ('group_left', 'admin_revoked'))
                or (e.change = 'account_created' and c.change in ('group_joined', 'admin_granted'))
            ))
),

-- The first complete snapshot after each event.
next_snapshot as (
    select e.*, (
        select min(s.snapshot_at) from snapshots s
        where s.source_system = e.source_system and s.source_instance = e.source_instance
          and s.snapshot_at >= e.event_time
    ) as snapshot_at
    from events e
),

held as (
    select n.*,
        exists(
            select 1 from {{ ref('int_entitlement_accounts') }} a
            where a.source_system = n.source_system and a.source_instance = n.source_instance
              and (a.account_id = n.account_id or lower(a.account_name) = lower(n.account_name))
              and a.valid_from <= n.snapshot_at and (a.valid_to is null or a.valid_to > n.snapshot_at)
        ) as account_held,
        exists(
            select 1 from {{ ref('int_entitlement_grants') }} g
            where g.source_system = n.source_system and g.source_instance = n.source_instance
              and g.account_id = n.account_id and g.granted_via <> 'inherited'
              and g.grant_id = case when n.change like 'admin_%' then 'WORKSPACE_ADMIN' else n.object_id end
              and g.valid_from <= n.snapshot_at and (g.valid_to is null or g.valid_to > n.snapshot_at)
        ) as grant_held
    from next_snapshot n
    where n.snapshot_at is not null
),

contradicted as (
    select
        'contradicted_by_state' as drift_type, h.change, h.source_system, h.source_instance, h.account_id,
        h.account_name, h.object_id, cast(null as varchar) as object_name,
        (select max(s.snapshot_at) from snapshots s
         where s.source_system = h.source_system and s.source_instance = h.source_instance
           and s.snapshot_at < h.snapshot_at) as previous_snapshot_at,
        h.snapshot_at, h.event_key, h.event_time
    from held h
    where case h.change
            when 'account_created' then not h.account_held
            when 'account_removed' then h.account_held
            when 'group_joined' then not h.grant_held
            when 'group_left' then h.grant_held
            when 'admin_granted' then not h.grant_held
            when 'admin_revoked' then h.grant_held
        end
      -- a later event before that snapshot that reverses it (same account, same group) explains the state
      and not exists (
          select 1 from events r
          where r.source_system = h.source_system and r.source_instance = h.source_instance
            and (r.account_id = h.account_id or lower(r.account_name) = lower(h.account_name))
            and r.event_time > h.event_time and r.event_time <= h.snapshot_at
            and coalesce(r.object_id, '') = coalesce(h.object_id, '')
            and (r.change, h.change) in (
                ('group_joined', 'group_left'), ('group_left', 'group_joined'),
                ('account_created', 'account_removed'), ('account_removed', 'account_created'),
                ('admin_granted', 'admin_revoked'), ('admin_revoked', 'admin_granted')))
),

group_names as (
    select source_system, source_instance, grant_id, max(grant_name) as grant_name
    from grants
    group by 1, 2, 3
)

select
    md5(concat_ws('|', d.drift_type, d.change, d.source_system, d.source_instance, d.account_id, d.object_id,
                  cast(d.snapshot_at as varchar), d.event_key)) as drift_key,
    d.drift_type,
    d.change,
    d.source_system,
    d.source_instance,
    d.account_id,
    coalesce(d.account_name, a.account_name) as account_name,
    d.object_id,
    coalesce(d.object_name, n.grant_name) as object_name,
    d.previous_snapshot_at,
    d.snapshot_at,
    d.event_key,
    d.event_time
from (select * from unlogged
union all
select * from contradicted) d
left join accounts a
    on d.source_system = a.source_system and d.source_instance = a.source_instance and d.account_id = a.account_id
left join group_names n
    on d.source_system = n.source_system and d.source_instance = n.source_instance and d.object_id = n.grant_id
