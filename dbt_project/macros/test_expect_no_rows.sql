{#- Fails (or, with severity warn, warns) when the model has any row: for marts whose rows are findings. -#}
{% test expect_no_rows(model) %}
select * from {{ model }}
{% endtest %}
