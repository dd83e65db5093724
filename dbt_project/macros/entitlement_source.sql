{#- The entitlement snapshot tables (pipelines/sources/thoughtspot_entitlements, mode_entitlements) as dbt sources.

    Until a first snapshot is taken (or when a product is not configured) a table does not exist: read an empty
    relation with the columns the dlt source declares (its COLUMNS hints) plus the scd2 validity columns, so the
    build and the contracts hold. Types follow the dlt hints. -#}
{% macro entitlement_columns(table_name) -%}
    {%- set ts = 'timestamp with time zone' -%}
    {%- set validity = [('valid_from', ts), ('valid_to', ts)] -%}
    {%- set columns = {
        'ts_orgs': [('source_instance', 'varchar'), ('org_id', 'bigint'), ('org_name', 'varchar')] + validity,
        'ts_users': [('source_instance', 'varchar'), ('user_id', 'varchar'), ('user_name', 'varchar'),
            ('display_name', 'varchar'), ('email', 'varchar'), ('account_type', 'varchar'),
            ('account_status', 'varchar'), ('is_deleted', 'boolean'), ('is_super_user', 'boolean'),
            ('is_system_user', 'boolean'), ('created_at', ts), ('first_login_at', ts), ('expires_at', ts),
            ('org_ids', 'varchar')] + validity,
        'ts_user_groups': [('source_instance', 'varchar'), ('user_id', 'varchar'), ('group_id', 'varchar'),
            ('group_name', 'varchar'), ('membership', 'varchar')] + validity,
        'ts_user_privileges': [('source_instance', 'varchar'), ('user_id', 'varchar'),
            ('privilege', 'varchar')] + validity,
        'ts_groups': [('source_instance', 'varchar'), ('org_id', 'bigint'), ('group_id', 'varchar'),
            ('group_name', 'varchar'), ('display_name', 'varchar'), ('group_type', 'varchar'),
            ('privileges', 'varchar'), ('roles', 'varchar'), ('sub_group_ids', 'varchar'),
            ('is_system_group', 'boolean')] + validity,
        'mode_memberships': [('source_instance', 'varchar'), ('member_token', 'varchar'), ('username', 'varchar'),
            ('email', 'varchar'), ('display_name', 'varchar'), ('is_admin', 'boolean'), ('state', 'varchar'),
            ('activated_at', ts), ('managed_by_scim', 'boolean')] + validity,
        'mode_groups': [('source_instance', 'varchar'), ('group_token', 'varchar'), ('group_name', 'varchar'),
            ('group_type', 'varchar'), ('state', 'varchar')] + validity,
        'mode_group_memberships': [('source_instance', 'varchar'), ('group_token', 'varchar'),
            ('member_token', 'varchar')] + validity,
        'snapshot_runs': [('source_instance', 'varchar'), ('snapshot_at', ts), ('snapshot_date', 'date'),
            ('scope', 'varchar'), ('row_counts', 'varchar'), ('is_complete', 'boolean')],
    } -%}
    {%- if table_name not in columns -%}
        {{ exceptions.raise_compiler_error("entitlement_source: no columns for '" ~ table_name ~ "'; add them to macros/entitlement_source.sql after the dlt source's COLUMNS") }}
    {%- endif -%}
    {{ return(columns[table_name]) }}
{%- endmacro %}

{% macro entitlement_source(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if execute and model.resource_type != 'unit_test' and load_relation(relation) is none -%}
        (select
            {%- for name, data_type in entitlement_columns(table_name) %}
            cast(null as {{ data_type }}) as "{{ name }}"{{ "," if not loop.last }}
            {%- endfor %}
         where false)
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}

{#- A row's end of validity: dlt's valid_to, or the first later complete snapshot in which its table was EMPTY.
    dlt writes nothing for an empty table, so it cannot retire that table's rows; snapshot_runs.row_counts says the
    table was empty then, which ends them. -#}
{% macro entitlement_valid_to(source_name, table_name, alias) -%}
    least({{ alias }}.valid_to, (
        select min(r.snapshot_at)
        from {{ entitlement_source(source_name, 'snapshot_runs') }} as r
        where r.is_complete
          and r.source_instance = {{ alias }}.source_instance
          and r.snapshot_at > {{ alias }}.valid_from
          and coalesce(cast(json_extract(r.row_counts, '$.{{ table_name }}') as bigint), 0) = 0
    ))
{%- endmacro %}
