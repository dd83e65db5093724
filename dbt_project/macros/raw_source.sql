{#- The raw tables as dbt sources, typed per pipelines/sources/raw_tables.py (macros/raw_table_columns.sql is
    generated from it).

    A deployment may ingest only one vendor, so a raw table can be missing: rather than fail the
    whole build, read an empty relation with the contract's columns and types. The source() call
    stays, so lineage (and Dagster's asset keys) are unaffected. -#}
{% macro raw_source(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {#- In unit tests source() names the fixture CTE: use it as is. -#}
    {%- if execute and model.resource_type != 'unit_test' and load_relation(relation) is none -%}
        (select
            {%- for name, data_type in raw_table_columns(table_name) %}
            cast(null as {{ data_type }}) as "{{ name }}"{{ "," if not loop.last }}
            {%- endfor %}
         where false)
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}
