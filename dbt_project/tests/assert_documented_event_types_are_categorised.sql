{#- Two inputs (catalogue and fact), so dagster-dbt cannot infer the asset: attach it to the fact as an
    asset check (dagster_dbt reads meta.dagster.ref). -#}
{{ config(meta={"dagster": {"ref": {"name": "fct_audit_events"}}}) }}
-- No documented event type may fall into `unknown`: every catalogue row has a real category and
-- outcome, and a fact row whose type is in the catalogue carries the catalogue's category.
-- (Checks recently loaded fact rows only: older ones were checked when they arrived.)
select 'catalogue' as failing_in, source_system, event_type
from {{ ref('audit_event_catalog') }}
where event_category = 'unknown' or outcome = 'unknown'

union all

select 'fct_audit_events' as failing_in, f.source_system, f.event_type
from {{ recent_rows(ref('fct_audit_events'), 'loaded_at') }} f
semi join {{ ref('audit_event_catalog') }} c
    on c.source_system = f.source_system and c.event_type = f.event_type
where f.event_category = 'unknown'
