{#- GENERATED from pipelines/sources/raw_tables.py by `python -m pipelines.sources.raw_tables`: do not edit.
    The raw tables' columns and DuckDB types, for raw_source() when a table does not exist yet. -#}
{% macro raw_table_columns(table_name) -%}
    {%- set columns = {
        'security_audit_events': [('source_instance', 'varchar'), ('id', 'varchar'), ('date', 'timestamp with time zone'), ('ts', 'timestamp with time zone'), ('version', 'varchar'), ('org_id', 'bigint'), ('user_guid', 'varchar'), ('user_name', 'varchar'), ('c_ip', 'varchar'), ('type', 'varchar'), ('desc', 'varchar'), ('data', 'json'), ('log', 'varchar'), ('_loaded_at', 'timestamp with time zone'), ('_auditlake_delivery', 'varchar')],
        'audit_logs': [('source_instance', 'varchar'), ('id', 'varchar'), ('action', 'varchar'), ('description', 'varchar'), ('timestamp', 'timestamp with time zone'), ('workspace_username', 'varchar'), ('context', 'json'), ('actor', 'json'), ('entity', 'json'), ('record', 'json'), ('_loaded_at', 'timestamp with time zone')],
        'quarantined_records': [('source_instance', 'varchar'), ('record_hash', 'varchar'), ('record', 'varchar'), ('reason', 'varchar'), ('window_start', 'timestamp with time zone'), ('window_end', 'timestamp with time zone'), ('quarantined_at', 'timestamp with time zone')],
        'ingest_windows': [('source_instance', 'varchar'), ('org_id', 'bigint'), ('window_start', 'timestamp with time zone'), ('window_end', 'timestamp with time zone'), ('fetched', 'bigint'), ('new_events', 'bigint'), ('duplicates', 'bigint'), ('quarantined', 'bigint'), ('fetched_at', 'timestamp with time zone')],
    } -%}
    {%- if table_name not in columns -%}
        {{ exceptions.raise_compiler_error("raw_source: no contract for raw table '" ~ table_name ~ "'; add it to pipelines/sources/raw_tables.py and run python -m pipelines.sources.raw_tables") }}
    {%- endif -%}
    {{ return(columns[table_name]) }}
{%- endmacro %}
