{#- Lower bound of "rows loaded since this model's last build", for incremental models downstream of
    fct_audit_events: the newest `watermark_column` stored in {{ this }} minus var
    fct_reprocess_lookback_minutes. The lookback matters because the fact itself re-reads that far back
    and can still receive rows stamped (loaded_at) before a downstream model's watermark; those models
    replace rows by key, so reading them twice is harmless.

    In a real run it is a literal, read before the SQL is sent, so DuckDB prunes the fact's row groups
    on loaded_at (the fact is stored in load order). In a unit test {{ this }} is a fixture: a scalar
    subquery gives the same meaning. Outside incremental runs: none (callers read everything).
    `stored_rows` (SQL condition) limits the watermark to some of the stored rows. -#}
{% macro loaded_since(watermark_column='last_loaded_at', stored_rows='true') -%}
    {%- if not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set lookback = "interval '" ~ var('fct_reprocess_lookback_minutes') ~ " minutes'" -%}
    {%- if model.resource_type == 'unit_test' -%}
        {{ return("(select coalesce(max(" ~ watermark_column ~ ") - " ~ lookback ~ ", '-infinity'::timestamptz) from "
                  ~ this ~ " where " ~ stored_rows ~ ")") }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return("'-infinity'::timestamptz") }}
    {%- endif -%}
    {%- set newest = run_query(
        "select strftime(max(" ~ watermark_column ~ ") at time zone 'UTC', '%Y-%m-%d %H:%M:%S.%f') from " ~ this
        ~ " where " ~ stored_rows
    ).rows[0][0] -%}
    {%- if newest is none -%}
        {{ return("'-infinity'::timestamptz") }}
    {%- endif -%}
    {{ return("(timestamptz '" ~ newest ~ "+00' - " ~ lookback ~ ")") }}
{%- endmacro %}

{#- The UTC days (SQL date literals) of fct_audit_events rows loaded since this model's last build
    (loaded_since): the days a daily rollup recomputes in full, late events included. -#}
{% macro fact_days_loaded_since(watermark_column='last_loaded_at') -%}
    {%- set days = [] -%}
    {%- if execute -%}
        {%- set query -%}
            select distinct cast(event_time as date)::varchar
            from {{ ref('fct_audit_events') }}
            where loaded_at > {{ loaded_since(watermark_column) }}
        {%- endset -%}
        {%- for row in run_query(query).rows -%}{%- do days.append("date '" ~ row[0] ~ "'") -%}{%- endfor -%}
    {%- endif -%}
    {{ return(days) }}
{%- endmacro %}

{#- The rows of fct_audit_events a daily rollup reads in an incremental run: its recomputed `days`, or none. -#}
{% macro on_fact_days(days) -%}
    {%- if days -%}
        event_time >= {{ days | min }} and cast(event_time as date) in ({{ days | join(', ') }})
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}

{#- A SQL list literal of strings: ('a', 'b'). -#}
{% macro sql_string_list(values) -%}
    ({%- for value in values -%}'{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}{%- endfor -%})
{%- endmacro %}

{#- Custom incremental strategy `bounded_delete_insert` (incremental_strategy='bounded_delete_insert'):
    delete+insert on unique_key, with the delete restricted to rows whose config `delete_bounded_by`
    column is at or after the batch's minimum. Use it when that column never changes for a key (a
    vendor event's time): it deletes the same rows as plain delete+insert, but the bound is a literal,
    so DuckDB skips the row groups before the batch instead of looking every key up in all of them. -#}
{% macro get_incremental_bounded_delete_insert_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set batch = arg_dict['temp_relation'] -%}
    {%- set unique_key = arg_dict['unique_key'] -%}
    {%- set bound_column = config.get('delete_bounded_by') -%}
    {%- if not unique_key or unique_key is not string or not bound_column -%}
        {{ exceptions.raise_compiler_error("bounded_delete_insert needs a single-column unique_key and config delete_bounded_by (the column that never changes for a key)") }}
    {%- endif -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set lowest = run_query("select strftime(min(" ~ bound_column ~ ") at time zone 'UTC', '%Y-%m-%d %H:%M:%S.%f') from " ~ batch).rows[0][0] -%}
    {%- if lowest is not none %}
    delete from {{ target }}
    where {{ bound_column }} >= timestamptz '{{ lowest }}+00'
      and {{ unique_key }} in (select {{ unique_key }} from {{ batch }});
    {%- endif %}
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ batch }}
{%- endmacro %}
