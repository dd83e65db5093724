{#- Schemas are named exactly staging / core / compliance (not <target>_<custom>), so other tools
    (Dagster checks, auditors' SQL) can rely on fixed names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
