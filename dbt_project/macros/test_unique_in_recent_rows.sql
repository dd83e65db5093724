{#- Uniqueness for an append-mostly table without rescanning its history on every build.
    Every key of a recently loaded row (var recent_rows_test_hours, measured back from the newest
    load) must occur once in the whole table: a duplicate always involves the newer row, so each
    pair is caught by the first build after it appears. Cost follows new rows, not history. -#}
{% test unique_in_recent_rows(model, column_name, loaded_at_column='loaded_at') %}
with recent_keys as (
    select {{ column_name }} as key_value
    from {{ model }}
    where {{ loaded_at_column }} >= (
        select max({{ loaded_at_column }}) - interval '{{ var("recent_rows_test_hours") }} hours' from {{ model }}
    )
)
select {{ column_name }} as key_value, count(*) as occurrences
from {{ model }}
where {{ column_name }} in (select key_value from recent_keys)
group by 1
having count(*) > 1
union all
select null, count(*) from recent_keys where key_value is null having count(*) > 0
{% endtest %}
