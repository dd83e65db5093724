{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
        on_schema_change='fail',
    )
}}
{#- The tamper-evident record: one row per source instance and CLOSED day (rpt_pipeline_evidence.is_closed),
    written once and never rebuilt (append only; `full_refresh: false`, so `dbt build --full-refresh` keeps
    it). day_hash covers the day's raw records (vendor id and the verbatim record text, never a derived
    classification); chain_hash chains it to the instance's previous sealed day, so a changed or removed
    record, day or seal breaks every later link. pipelines/warehouse/integrity.py verify_integrity_chain()
    recomputes it from the raw tables and names each day that differs.

    Days are sealed in date order: the chain extends over the contiguous run of closed days after the last
    sealed one and stops at the first day not closed yet (a gap in the fetch windows holds it until a
    backfill covers it). -#}
{%- set genesis = 'auditlake-integrity-chain-v1' %}
{#- The earliest day this build may seal, read before the SQL is sent: as a literal, the raw-time bound in
    day_content becomes a table filter DuckDB pushes into the raw scans (old row groups and Parquet files skipped,
    no JSON parsed for them); as a subquery it made every scheduled build parse the whole raw history. It is at or
    before every candidate's day, so the rows selected are the same. -#}
{%- set first_candidate = none -%}
{%- if execute and is_incremental() -%}
    {%- set first_candidate = run_query(
        "select coalesce(min(e.evidence_date)::varchar, 'none') from " ~ ref('rpt_pipeline_evidence') ~ " e"
        ~ " left join (select source_system, source_instance, max(evidence_date) as last_date from " ~ this
        ~ " group by all) l using (source_system, source_instance)"
        ~ " where e.is_closed and e.evidence_date > coalesce(l.last_date, date '0001-01-01')"
    ).columns[0].values()[0] -%}
{%- endif %}

with recursive

{%- if is_incremental() %}
last_seals as (
    select source_system, source_instance, max(evidence_date) as last_date,
        arg_max(chain_hash, evidence_date) as last_chain_hash, max(chain_position) as last_position
    from {{ this }}
    group by all
),
{%- endif %}

candidates as (
    select
        e.source_system, e.source_instance, e.evidence_date,
        {%- if is_incremental() %}
        l.last_date, l.last_chain_hash, coalesce(l.last_position, 0) as last_position,
        {%- else %}
        cast(null as date) as last_date, cast(null as varchar) as last_chain_hash, 0 as last_position,
        {%- endif %}
        row_number() over (partition by e.source_system, e.source_instance order by e.evidence_date) as n,
        min(e.evidence_date) over (partition by e.source_system, e.source_instance) as first_candidate
    from {{ ref('rpt_pipeline_evidence') }} e
    {%- if is_incremental() %}
    left join last_seals l using (source_system, source_instance)
    where e.is_closed and e.evidence_date > coalesce(l.last_date, date '0001-01-01')
    {%- else %}
    where e.is_closed
    {%- endif %}
),

contiguous as (
    -- the k-th candidate must be day k after the last seal (or after the day before the first candidate)
    select * from candidates
    where evidence_date = coalesce(last_date, first_candidate - 1) + cast(n as integer)
),

raw_records as (
    select source_system, source_instance, source_event_id, event_time, raw_content, raw_event_time
    from {{ ref('stg_thoughtspot__security_audit_events') }}
    union all by name
    select source_system, source_instance, source_event_id, event_time, raw_content, raw_event_time
    from {{ ref('stg_mode__audit_logs') }}
),

day_content as (
    select
        r.source_system, r.source_instance, cast(r.event_time as date) as evidence_date,
        count(*) as event_count,
        sha256(string_agg(r.source_event_id || ':' || md5(r.raw_content), chr(10) order by r.source_event_id))
            as day_hash
    from raw_records r
    semi join contiguous c
        on c.source_system = r.source_system and c.source_instance = r.source_instance
        and c.evidence_date = cast(r.event_time as date)
    -- the loader's event time equals the record's; the bound only lets the scan skip older raw rows
    {%- if first_candidate == 'none' %}
    where false  -- no closed day waits for its seal
    {%- elif first_candidate %}
    where r.raw_event_time >= timestamptz '{{ first_candidate }} 00:00:00+00' - interval 2 day
    {%- else %}
    where r.raw_event_time >= (select min(c2.evidence_date) from contiguous c2) - interval 2 day
    {%- endif %}
    group by all
),

days as (
    select
        c.source_system, c.source_instance, c.evidence_date, c.n, c.last_chain_hash, c.last_position,
        coalesce(d.event_count, 0) as event_count,
        coalesce(d.day_hash, sha256('')) as day_hash
    from contiguous c
    left join day_content d using (source_system, source_instance, evidence_date)
),

chain (source_system, source_instance, evidence_date, n, chain_position, event_count, day_hash,
       previous_chain_hash, chain_hash) as (
    select
        source_system, source_instance, evidence_date, n, last_position + n, event_count, day_hash,
        coalesce(last_chain_hash, '{{ genesis }}'),
        {{ integrity_link("coalesce(last_chain_hash, '" ~ genesis ~ "')", 'source_system', 'source_instance',
                          'evidence_date', 'event_count', 'day_hash') }}
    from days
    where n = 1
    union all
    select
        d.source_system, d.source_instance, d.evidence_date, d.n, chain.chain_position + 1, d.event_count,
        d.day_hash, chain.chain_hash,
        {{ integrity_link('chain.chain_hash', 'd.source_system', 'd.source_instance', 'd.evidence_date',
                          'd.event_count', 'd.day_hash') }}
    from days d
    inner join chain
        on chain.source_system = d.source_system and chain.source_instance = d.source_instance
        and d.n = chain.n + 1
)

select
    source_system::varchar as source_system,
    source_instance::varchar as source_instance,
    evidence_date::date as evidence_date,
    chain_position::bigint as chain_position,
    event_count::bigint as event_count,
    day_hash::varchar as day_hash,
    previous_chain_hash::varchar as previous_chain_hash,
    chain_hash::varchar as chain_hash,
    current_timestamp::timestamptz as sealed_at
from chain
order by source_system, source_instance, evidence_date
