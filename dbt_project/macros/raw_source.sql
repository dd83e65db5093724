{#- The raw tables as dbt sources, typed per pipelines/sources/raw_tables.py.

    A deployment may ingest only one vendor, so a raw table can be missing: rather than fail the
    whole build, read an empty relation with the contract's columns and types. The source() call
    stays, so lineage (and Dagster's asset keys) are unaffected. -#}
{% macro raw_table_columns(table_name) -%}
    {%- set ts = 'timestamp with time zone' -%}
    {%- set columns = {
        'security_audit_events': [
            ('source_instance', 'varchar'), ('id', 'varchar'), ('date', ts), ('ts', ts), ('version', 'varchar'),
            ('org_id', 'bigint'), ('user_guid', 'varchar'), ('user_name', 'varchar'), ('c_ip', 'varchar'),
            ('type', 'varchar'), ('desc', 'varchar'), ('data', 'json'), ('log', 'varchar'), ('_loaded_at', ts)],
        'audit_logs': [
            ('source_instance', 'varchar'), ('id', 'varchar'), ('action', 'varchar'), ('description', 'varchar'),
            ('timestamp', ts), ('workspace_username', 'varchar'), ('context', 'json'), ('actor', 'json'),
            ('entity', 'json'), ('record', 'json'), ('_loaded_at', ts)],
        'quarantined_records': [
            ('source_instance', 'varchar'), ('record_hash', 'varchar'), ('record', 'varchar'), ('reason', 'varchar'),
            ('window_start', ts), ('window_end', ts), ('quarantined_at', ts)],
        'ingest_windows': [
            ('source_instance', 'varchar'), ('window_start', ts), ('window_end', ts), ('fetched', 'bigint'),
            ('new_events', 'bigint'), ('duplicates', 'bigint'), ('quarantined', 'bigint'), ('fetched_at', ts)],
    } -%}
    {%- if table_name not in columns -%}
        {{ exceptions.raise_compiler_error("raw_source: no contract for raw table '" ~ table_name ~ "'; add it to macros/raw_source.sql after pipelines/sources/raw_tables.py") }}
    {%- endif -%}
    {{ return(columns[table_name]) }}
{%- endmacro %}

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
