{#- md5 of every classification column of an audit_event_catalog row (alias `relation_alias`): stored on each
    fact row, so a changed, added or removed catalogue row is found and its events restated on the next
    incremental build. Null when the row is missing (an uncatalogued type). -#}
{% macro catalog_row_hash(relation_alias) -%}
    case when {{ relation_alias }}.event_type is not null then md5(concat_ws('|',
        {%- for column in ['event_description', 'event_category', 'event_action', 'outcome', 'is_privileged',
                           'privilege_reason', 'ocsf_class_uid', 'ocsf_activity_id', 'severity_id', 'target_type'] %}
        coalesce({{ relation_alias }}.{{ column }}::varchar, '<null>'){{ "," if not loop.last }}
        {%- endfor %}
    )) end
{%- endmacro %}

{#- Mode workspace roles, least to most access (a removal is a role change to `removed`). Unknown -> null. -#}
{% macro mode_role_rank(role_expr) -%}
    (case lower(coalesce({{ role_expr }}, ''))
        when 'removed' then 0 when 'deactivated' then 0 when 'deleted' then 0
        when 'viewer' then 1 when 'view' then 1
        when 'member' then 2 when 'query' then 2
        when 'manage' then 3 when 'admin' then 4
    end)
{%- endmacro %}

{#- One link of rpt_integrity_chain: sha256 over the previous link and the day's identity, event count and
    content hash. pipelines/warehouse/integrity.py computes the same (keep the two in step). -#}
{% macro integrity_link(previous, source_system, source_instance, evidence_date, event_count, day_hash) -%}
    sha256(concat_ws('|', {{ previous }}, {{ source_system }}, {{ source_instance }},
                     strftime({{ evidence_date }}, '%Y-%m-%d'), ({{ event_count }})::varchar, {{ day_hash }}))
{%- endmacro %}
