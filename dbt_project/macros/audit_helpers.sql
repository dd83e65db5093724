{#- Surrogate key of a vendor event: stable across reloads, distinct across tenants and products. -#}
{% macro audit_event_key(source_system, source_instance, source_event_id) -%}
    md5(concat_ws('|', {{ source_system }}, {{ source_instance }}, {{ source_event_id }}))
{%- endmacro %}

{#- Vendors hand over ids as a JSON array, a JSON array of {"id": ...}, a stringified array of either,
    or a bare string. Returns the first id as varchar (null when there is none). -#}
{% macro first_json_id(json_expr) -%}
    {%- set value -%}({{ unwrap_json_string(json_expr) }}){%- endset -%}
    coalesce(
        json_extract_string({{ value }}, '$[0].id'),
        json_extract_string({{ value }}, '$[0]'),
        case when json_type({{ value }}) = 'VARCHAR' then json_extract_string({{ value }}, '$') end
    )
{%- endmacro %}

{#- A JSON string value that itself holds JSON ("[\"id\"]") -> that JSON; real JSON passes through. -#}
{% macro unwrap_json_string(json_expr) -%}
    case when json_type({{ json_expr }}) = 'VARCHAR'
         then coalesce(try_cast(json_extract_string({{ json_expr }}, '$') as json), {{ json_expr }})
         else {{ json_expr }} end
{%- endmacro %}

{#- Outside business hours (vars business_hours_*_utc, business_days_isodow); timestamps are UTC. -#}
{% macro is_off_hours(ts_expr) -%}
    (
        isodow({{ ts_expr }}) not in ({{ var('business_days_isodow') | join(', ') }})
        or hour({{ ts_expr }}) < {{ var('business_hours_start_utc') }}
        or hour({{ ts_expr }}) >= {{ var('business_hours_end_utc') }}
    )
{%- endmacro %}
