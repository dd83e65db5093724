{#- Uniqueness for an append-mostly table without rescanning its history on every build.
    Every key of a recently loaded row (var recent_rows_test_hours, measured back from the newest
    load) must occur once in the table: a duplicate always involves the newer row, so each pair is
    caught by the first build after it appears.

    With `time_column` (a column that never changes for a key, e.g. a vendor event's time), the
    other occurrences are looked for only from the recent rows' earliest time on, so cost follows new
    rows, not history. A duplicate with a different time escapes this test; the Dagster check
    no_duplicate_events and raw_fact_reconciliation (whole table) catch it. Bounds are literals (see
    recent_rows_bound) so DuckDB prunes row groups. -#}
{% test unique_in_recent_rows(model, column_name, loaded_at_column='loaded_at', time_column=none) %}
{%- set recent_since = recent_rows_bound(model, loaded_at_column) -%}
{%- set earliest = none -%}
{%- if time_column and execute and load_relation(model) is not none -%}
    {%- set earliest = run_query(
        "select strftime(min(" ~ time_column ~ "), '%Y-%m-%d %H:%M:%S.%f') from " ~ model
        ~ " where " ~ loaded_at_column ~ " >= " ~ recent_since
    ).rows[0][0] -%}
{%- endif %}
with recent_keys as (
    select {{ column_name }} as key_value
    from {{ model }}
    where {{ loaded_at_column }} >= {{ recent_since }}
)
select {{ column_name }} as key_value, count(*) as occurrences
from {{ model }}
where {{ column_name }} in (select key_value from recent_keys)
{%- if earliest %}
  and {{ time_column }} >= timestamptz '{{ earliest }}+00'
{%- endif %}
group by 1
having count(*) > 1
union all
select null, count(*) from recent_keys where key_value is null having count(*) > 0
{% endtest %}
