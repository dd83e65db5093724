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

{#- `select <source_cte>.*, local_event_time, is_service_account, is_off_hours from <source_cte>`: the
    event's time in its instance's time zone and whether it falls outside that instance's business days and
    hours or on its holiday (seeds source_instance_calendars / source_instance_holidays; the most specific
    row wins, `*` matches any). Allow-listed service accounts (seed service_accounts, LIKE on actor name or
    id) are automation: never off-hours findings. Rows need event_key, event_time, source_system,
    source_instance, actor_name, actor_id. -#}
{% macro select_with_off_hours(source_cte) -%}
    {%- set local_time = "timezone(coalesce(cal.time_zone, 'UTC'), s.event_time)" -%}
    select
        s.*,
        {{ local_time }} as local_event_time,
        exists (
            select 1 from {{ ref('service_accounts') }} sa
            where sa.source_system in (s.source_system, '*') and sa.source_instance in (s.source_instance, '*')
              and (s.actor_name like sa.account_name_pattern or s.actor_id like sa.account_name_pattern)
        ) as is_service_account,
        (
            not list_contains(
                cast(string_split(trim(coalesce(cal.business_days_isodow, '1 2 3 4 5')), ' ') as integer[]),
                isodow({{ local_time }}))
            or hour({{ local_time }}) < coalesce(cal.business_hours_start, 8)
            or hour({{ local_time }}) >= coalesce(cal.business_hours_end, 18)
            or exists (
                select 1 from {{ ref('source_instance_holidays') }} h
                where h.source_system in (s.source_system, '*') and h.source_instance in (s.source_instance, '*')
                  and h.holiday_date = cast({{ local_time }} as date)
            )
        ) as is_outside_business_hours
    from {{ source_cte }} s
    left join {{ ref('source_instance_calendars') }} cal
        on cal.source_system in (s.source_system, '*') and cal.source_instance in (s.source_instance, '*')
    qualify row_number() over (
        partition by s.event_key
        order by (cal.source_system <> '*')::integer + 2 * (cal.source_instance <> '*')::integer desc nulls last
    ) = 1
{%- endmacro %}
