{{ config(materialized='view') }}
-- Every record any source set aside as unparseable, one relation for the marts (a new source adds a branch).
select * from {{ ref('stg_thoughtspot__quarantined_records') }}
union all by name
select * from {{ ref('stg_mode__quarantined_records') }}
