{{ config(materialized='view') }}
-- Every request window every source fetched, one relation for the marts (a new source adds a branch).
select * from {{ ref('stg_thoughtspot__ingest_windows') }}
union all by name
select * from {{ ref('stg_mode__ingest_windows') }}
