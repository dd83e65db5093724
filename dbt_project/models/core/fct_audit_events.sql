{{
    config(
        materialized='incremental',
        unique_key='event_key',
        incremental_strategy='bounded_delete_insert',
        delete_bounded_by='event_time',
        on_schema_change='fail',
        contract={'enforced': true},
    )
}}
{#- Incremental on auditlake's load time, not on event time: a late event (loaded today, happened
    last week) is new data and must come in. Each (source_system, source_instance) has its own
    watermark, minus a lookback; rows read twice are replaced by key (delete+insert), so re-reads
    and overlapping windows never duplicate.

    Cost follows the batch, not the history:
    - the watermarks are read before the SQL is sent, so the filter is a literal that DuckDB pushes
      into the raw scans as a table filter (row groups pruned, no JSON parsed for old rows). It must
      stay a plain AND: an OR with another column makes DuckDB read every column of every raw row.
      Instances the fact has never seen (a tenant added later) come in whole, by a separate branch.
    - the delete of replaced keys (macros/incremental_helpers.sql, bounded_delete_insert) only looks
      at rows from the batch's earliest event_time on. A vendor event's time never changes (raw rows
      are insert-only on (source_instance, id) and staging derives event_time from them), so it
      replaces exactly the rows plain delete+insert would, without probing every key of the history.
      A late event widens the range (correct, only slower). -#}
{%- set known_instances = {} -%}
{%- set batch_filters = {'thoughtspot': ['select * from ' ~ ref('stg_thoughtspot__security_audit_events')],
                         'mode': ['select * from ' ~ ref('stg_mode__audit_logs')]} -%}
{%- if execute and is_incremental() -%}
    {%- set staged_relations = {'thoughtspot': ref('stg_thoughtspot__security_audit_events'),
                                'mode': ref('stg_mode__audit_logs')} -%}
    {%- for row in run_query(
        "select source_system, source_instance, strftime(max(loaded_at) at time zone 'UTC', '%Y-%m-%d %H:%M:%S.%f')"
        ~ " from " ~ this ~ " group by all"
    ).rows -%}
        {%- do known_instances.setdefault(row[0], {}).update({row[1]: row[2]}) -%}
    {%- endfor -%}
    {%- for system, relation in staged_relations.items() if system in known_instances -%}
        {%- set known = known_instances[system] -%}
        {%- set since = "timestamptz '" ~ (known.values() | min) ~ "+00' - interval '"
                        ~ var('fct_reprocess_lookback_minutes') ~ " minutes'" -%}
        {%- set branches = ['select * from ' ~ relation ~ ' where loaded_at > ' ~ since] -%}
        {%- set unseen = [] -%}
        {%- for row in run_query('select distinct source_instance from ' ~ relation).rows
                if row[0] is not none and row[0] not in known -%}
            {%- do unseen.append(row[0]) -%}
        {%- endfor -%}
        {%- if unseen -%}
            {%- do branches.append('select * from ' ~ relation ~ ' where source_instance in '
                                   ~ sql_string_list(unseen) ~ ' and loaded_at <= ' ~ since) -%}
        {%- endif -%}
        {%- do batch_filters.update({system: branches}) -%}
    {%- endfor -%}
{%- endif %}

with staged as (
    {{ (batch_filters['thoughtspot'] + batch_filters['mode']) | join('\n    union all by name\n    ') }}
),

catalog as (
    select * from {{ ref('audit_event_catalog') }}
),

keyed as (
    select
        {{ audit_event_key('staged.source_system', 'staged.source_instance', 'staged.source_event_id') }} as event_key,
        staged.*
    from staged
    -- raw tables are merged on (source_instance, id) already; this only guards a batch against itself
    qualify row_number() over (partition by event_key order by loaded_at desc) = 1
)

select
    keyed.event_key::varchar as event_key,
    keyed.source_system::varchar as source_system,
    keyed.source_instance::varchar as source_instance,
    keyed.source_event_id::varchar as source_event_id,
    keyed.event_time::timestamp with time zone as event_time,
    keyed.event_type::varchar as event_type,
    coalesce(keyed.event_description, catalog.event_description)::varchar as event_description,
    -- an event type the catalogue does not know is kept, never dropped
    coalesce(catalog.event_category, 'unknown')::varchar as event_category,
    coalesce(catalog.event_action, 'unknown')::varchar as event_action,
    coalesce(catalog.outcome, 'unknown')::varchar as outcome,
    coalesce(catalog.is_privileged, false)::boolean as is_privileged,
    keyed.actor_id::varchar as actor_id,
    keyed.actor_name::varchar as actor_name,
    keyed.actor_ip::varchar as actor_ip,
    keyed.actor_user_agent::varchar as actor_user_agent,
    coalesce(keyed.target_type, catalog.target_type)::varchar as target_type,
    keyed.target_id::varchar as target_id,
    keyed.target_name::varchar as target_name,
    keyed.org_id::bigint as org_id,
    coalesce(catalog.ocsf_class_uid, 0)::integer as ocsf_class_uid,
    coalesce(catalog.ocsf_activity_id, 0)::integer as ocsf_activity_id,
    keyed.details::json as details,
    keyed.raw_payload::json as raw_payload,
    keyed.vendor_ingested_at::timestamp with time zone as vendor_ingested_at,
    keyed.loaded_at::timestamp with time zone as loaded_at
from keyed
left join catalog
    on catalog.source_system = keyed.source_system
    and catalog.event_type = keyed.event_type
-- stored in load order (incremental batches are appended in it too): the zonemaps of loaded_at and
-- event_time then let every downstream "loaded since" / "from this time" filter skip old row groups
order by keyed.loaded_at, keyed.event_time
