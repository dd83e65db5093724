{#- Tests on the big append-mostly tables check the recently loaded rows (var recent_rows_test_hours,
    measured back from the newest load) instead of the whole history: older rows were checked by the
    builds that added them, so each build's test cost follows new rows, not history.

    The bound is read first and inlined as a literal: DuckDB prunes row groups with a literal, while a
    scalar subquery still reads every row group. -#}
{% macro recent_rows_bound(model, loaded_at_column) -%}
    {%- set newest = "(select max(" ~ loaded_at_column ~ ") from " ~ model ~ ")" -%}
    {#- `dbt docs generate` / `compile` compile tests before the model exists: no literal then -#}
    {%- if execute and load_relation(model) is not none -%}
        {%- set bound = run_query(
            "select strftime(max(" ~ loaded_at_column ~ ") - interval '" ~ var('recent_rows_test_hours')
            ~ " hours', '%Y-%m-%d %H:%M:%S.%f') from " ~ model
        ).rows[0][0] -%}
        {{- return("timestamptz '" ~ bound ~ "+00'" if bound is not none else "'infinity'::timestamptz") -}}
    {%- endif -%}
    {{- return(newest ~ " - interval '" ~ var('recent_rows_test_hours') ~ " hours'") -}}
{%- endmacro %}

{% macro recent_rows(model, loaded_at_column) -%}
    (select * from {{ model }} where {{ loaded_at_column }} >= {{ recent_rows_bound(model, loaded_at_column) }})
{%- endmacro %}

{#- dbt's own generic tests, on the recent rows. -#}
{% test not_null_in_recent_rows(model, column_name, loaded_at_column='loaded_at') %}
    {{ dbt.default__test_not_null(recent_rows(model, loaded_at_column), column_name) }}
{% endtest %}

{% test accepted_values_in_recent_rows(model, column_name, values, quote=true, loaded_at_column='loaded_at') %}
    {{ dbt.default__test_accepted_values(recent_rows(model, loaded_at_column), column_name, values, quote) }}
{% endtest %}

{% test relationships_in_recent_rows(model, column_name, to, field, loaded_at_column='loaded_at') %}
    {{ dbt.default__test_relationships(recent_rows(model, loaded_at_column), column_name, to, field) }}
{% endtest %}
