-- Per-user access review: privileged or not, last login, days inactive, dormant accounts.
{%- set as_of = var('access_review_as_of', none) %}
with users as (
    select * from {{ ref('dim_users') }}
),

as_of as (
    select {% if as_of %}timestamptz '{{ as_of }}'{% else %}current_timestamp{% endif %} as review_as_of
)

select
    u.user_key,
    u.source_system,
    u.source_instance,
    u.user_name,
    u.user_id,
    u.current_status,
    u.is_privileged,
    u.last_admin_grant_at,
    u.last_privileged_action_at,
    u.created_at,
    u.last_login_at,
    u.last_seen_at,
    a.review_as_of,
    u.last_activity_at,
    -- inactive since the user last did anything (a login is an action; Mode logs no logins);
    -- never active: since the account appeared
    date_diff('day', coalesce(u.last_activity_at, u.created_at, u.first_seen_at), a.review_as_of) as days_inactive,
    u.current_status = 'active'
        and date_diff('day', coalesce(u.last_activity_at, u.created_at, u.first_seen_at), a.review_as_of)
            >= {{ var('dormant_after_days') }}
        as is_dormant
from users u
cross join as_of a
