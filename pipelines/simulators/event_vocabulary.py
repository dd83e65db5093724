"""The event vocabularies both simulators draw from, and the background mix that shapes a history.

The dbt catalogue (dbt_project/seeds/audit_event_catalog.csv) must list exactly these names.
"""

from __future__ import annotations

# ThoughtSpot "Collect security logs" page (seeds/thoughtspot-collect-security-logs.txt), in page order, then the
# extra names the developer docs' tables and examples use (reference/thoughtspot-api.md section 3).
THOUGHTSPOT_EVENT_TYPES: tuple[str, ...] = (
    "ACCOUNT_LOCKED",
    "AUTH_TOKEN_CREATED_SUCCESSFULLY",
    "CREATE_ANSWER",
    "CREATE_CONNECTION",
    "CREATE_CONNECTION_ATTEMPTED",
    "CREATE_RELATIONSHIP",
    "CREATE_PINBOARD",
    "CREATE_MODEL",
    "CREATE_RLS_RULE",
    "CREATE_TABLES",
    "CREATE_VIEW",
    "CSV_UPLOAD_FINISHED",
    "CSV_UPLOAD_STARTED",
    "DATA_UPLOAD_CONFIGURED",
    "DELETE_ANSWERS",
    "DELETE_CONNECTION",
    "DELETE_CONNECTION_ATTEMPTED",
    "DELETE_RELATIONSHIP",
    "DELETE_MODEL",
    "DELETE_PINBOARDS",
    "DELETE_RLS_RULES",
    "DELETE_VIEW",
    "EDIT_CONNECTION",
    "EDIT_CONNECTION_ATTEMPTED",
    "FAILED_TO_CREATE_AUTH_TOKEN",
    "LOGIN_FAILED",
    "LOGIN_SUCCESSFUL",
    "LOGOUT_FAILED",
    "LOGOUT_SUCCESSFUL",
    "PRINCIPALS_IN_GROUP_UPDATE",
    "PRIVILEGE_CHANGES",
    "ROLE_CREATED",
    "ROLE_DELETED",
    "ROLE_UPDATED",
    "ROLES_ASSIGNED",
    "ROLES_IMPORTED",
    "ROLES_REMOVED",
    "UPDATE_ANSWERS",
    "UPDATE_RELATIONSHIP",
    "UPDATE_MODEL",
    "UPDATE_PASSWORD",
    "UPDATE_PASSWORD_FAILED",
    "UPDATE_PINBOARDS",
    "UPDATE_VIEW",
    "UPDATE_RLS_RULE",
    "USER_ACTIVATE",
    "USER_GROUPS_CREATED",
    "USER_GROUPS_DELETED",
    "USER_GROUP_MODIFIED",
    "USERS_CREATED",
    "USERS_DELETED",
    "USERS_MODIFIED",
    "TRIAL_USER_CREATE",
    "TRIAL_USER_DELETE",
    "TRIAL_USER_END",
    "TRIAL_USER_EXPIRE",
    "TRIAL_USER_EXTEND",
    "USER_INVITED",
    "TEAM_CHANGE_SUBSCRIPTION",
    "TEAMS_EDITION_USER_DELETE",
    "TEAM_EDITION_USER_EXPIRE",
    "USER_CHANGE_SUBSCRIPTION",
    "ORG_ACCESS_GRANTED_TO_USER",
    "ORG_CREATION_FAILED",
    "ORG_CREATION_SUCCESSFUL",
    "ORG_DELETION_FAILED",
    "ORG_DELETION_SUCCESSFUL",
    "ORG_SWITCH_FAILED",
    "ORG_SWITCH_SUCCESSFUL",
    # developer-docs names not on the page
    "UPDATE_VIEWS",
    "DELETE_VIEWS",
    "CREATE_JOIN",
    "UPDATE_JOIN",
    "DELETE_JOIN",
    "SHARE_OBJECTS",
    "CREATE_CONFIGURATION",
    "CREATE_CONFIGURATION_ATTEMPTED",
    "EDIT_CONFIGURATION",
    "EDIT_CONFIGURATION_ATTEMPTED",
    "DELETE_CONFIGURATION",
    "DELETE_CONFIGURATION_ATTEMPTED",
    "DIGEST_FREQUENCY_CHANGED",
    "UPDATE_PASSWORD_FAILURE",
    "ORG_ACCESS_REVOKED_FROM_USER",
    "TEAM_EDITION_USER_DELETE",
)

# Mode "Audit Logs" help page (seeds/mode-audit-logs.txt), in page order: action -> (description, entity_type).
MODE_ACTION_INFO: dict[str, tuple[str, str]] = {
    "org_user_role_changed": ("member role changed", "workspace_user"),
    "org_user_invited": ("member invited", "workspace_user"),
    "org_user_invitation_resent": ("invite resent", "workspace_user"),
    "org_user_reinvited": ("former member reinvited", "workspace_user"),
    "group_created": ("group created", "group"),
    "group_member_added": ("member added to group", "group"),
    "group_member_removed": ("member removed from group", "group"),
    "group_deleted": ("group deleted", "group"),
    "workspace_default_access_changed": ("default workspace access changed", "workspace"),
    "collection_created": ("collection created", "collection"),
    "collection_deleted": ("collection deleted", "collection"),
    "collection_member_added": ("member added to collection", "collection"),
    "collection_member_removed": ("member removed from collection", "collection"),
    "collection_member_access_changed": ("collection access changed for member", "collection"),
    "collection_group_added": ("group added to collection", "collection"),
    "collection_group_removed": ("group removed from collection", "collection"),
    "collection_group_access_changed": ("collection access changed for group", "collection"),
    "connection_created": ("connection created", "workspace_connection"),
    "connection_deleted": ("connection deleted", "workspace_connection"),
    "connection_member_added_with_role": ("member added to connection", "workspace_connection"),
    "connection_member_removed": ("member removed from connection", "workspace_connection"),
    "connection_group_added_with_role": ("group added to connection", "workspace_connection"),
    "connection_group_removed": ("group removed from connection", "workspace_connection"),
    "connection_member_access_changed": ("connection access changed for member", "workspace_connection"),
    "connection_group_access_changed": ("connection access changed for group", "workspace_connection"),
    "export_data_sql_exported": ("sql editor output exported", "query"),
    "export_data_report_exported_csv": ("report exported as csv", "report"),
    "export_data_report_exported_pdf": ("report exported as pdf", "report"),
    "report_activity_report_created": ("report created", "report"),
    "report_activity_report_edited": ("report edited", "report"),
    "report_activity_report_deleted": ("report deleted", "report"),
    "report_activity_report_moved": ("report moved", "report"),
    "report_activity_sql_added": ("sql added to report", "report"),
    "report_activity_sql_deleted": ("sql deleted from report", "report"),
    "report_activity_visualization_added": ("visualization added to report", "report"),
    "report_activity_visualization_deleted": ("visualization deleted from report", "report"),
    "report_activity_python_notebook_added": ("python notebook added to report", "report"),
    "report_activity_r_notebook_added": ("r notebook added to report", "report"),
    "report_schedule_created": ("report schedule created", "report_schedule"),
    "report_schedule_edited": ("report schedule edited", "report_schedule"),
    "report_schedule_deleted": ("report schedule deleted", "report_schedule"),
    "report_schedule_user_email_added": ("user email added to schedule", "report_schedule"),
    "report_schedule_user_email_removed": ("user email removed from schedule", "report_schedule"),
    "report_schedule_channel_added": ("slack channel added to schedule", "report_schedule"),
    "report_schedule_channel_removed": ("slack channel removed from schedule", "report_schedule"),
    "api_token_workspace_created": ("workspace api token created", "api_token"),
    "api_token_member_key_generated": ("member api key generated", "api_token"),
    "api_token_member_key_revoked": ("member api key revoked", "api_token"),
    "api_token_workspace_revoked": ("workspace api token revoked", "api_token"),
    "audit_log_accessed": ("audit log accessed", "workspace"),
}
MODE_ACTIONS: tuple[str, ...] = tuple(MODE_ACTION_INFO)

# `desc` exactly as ThoughtSpot's published records have it (docs/vendor/samples; tests/simulators check the two
# agree). Many types say "... attempted": the record is written when the change is requested, whether or not it
# succeeds. Types without a published record keep a plain rendering of the name.
THOUGHTSPOT_SAMPLE_DESCRIPTIONS: dict[str, str] = {
    "LOGIN_SUCCESSFUL": "User login successful",
    "LOGIN_FAILED": "User login failed",
    "LOGOUT_SUCCESSFUL": "User logout successful",
    "UPDATE_PASSWORD_FAILURE": "Password update failed",
    "USERS_CREATED": "New user accounts creation attempted",
    "USERS_MODIFIED": "User account detail modification attempted",
    "USERS_DELETED": "User accounts deletion attempted",
    "ORG_CREATION_SUCCESSFUL": "Successfully created an Org",
    "ORG_ACCESS_GRANTED_TO_USER": "Added user to an Org",
    "ORG_SWITCH_SUCCESSFUL": "Successfully switched org",
    "ORG_ACCESS_REVOKED_FROM_USER": "Removed user from Org",
    "ORG_DELETION_SUCCESSFUL": "Successfully deleted an Org",
    "ROLES_ASSIGNED": "Roles assignment to group attempted",
    "USER_GROUPS_CREATED": "New groups creation attempted",
    "USER_GROUPS_DELETED": "Groups deletion attempted",
    "PRINCIPALS_IN_GROUP_UPDATE": "Principals(User/UserGroup) in group update attempted",
    "PRIVILEGE_CHANGES": "Group privilege changes attempted.",
    "CREATE_CONNECTION_ATTEMPTED": "Create connection attempted",
    "CREATE_CONNECTION": "Connection created",
    "EDIT_CONNECTION_ATTEMPTED": "Edit connection attempted",
    "EDIT_CONNECTION": "Connection edited",
    "DELETE_CONNECTION_ATTEMPTED": "Delete connection attempted",
    "DELETE_CONNECTION": "Connection deleted",
    "SHARE_OBJECTS": "Sharing of objects with groups/users attempted",
    "DATA_UPLOAD_CONFIGURED": "Data Upload configured for a connection",
    "CREATE_RLS_RULE": "RLS rule creation attempted",
    "UPDATE_RLS_RULE": "RLS rule modification attempted",
    "DELETE_RLS_RULES": "RLS rules deletion attempted",
    "CREATE_ANSWER": "New answer creation attempted",
    "UPDATE_ANSWERS": "Existing answers modification attempted",
    "CREATE_PINBOARD": "New pinboard creation attempted",
    "UPDATE_PINBOARDS": "Existing pinboards modification attempted",
    "DELETE_PINBOARDS": "Pinboards deletion attempted",
}
_TS_DESC_UNPUBLISHED = {
    "LOGOUT_FAILED": "User logout failed",
    "ACCOUNT_LOCKED": "User account locked after repeated authentication failures",
    "AUTH_TOKEN_CREATED_SUCCESSFULLY": "Auth token created successfully",
    "FAILED_TO_CREATE_AUTH_TOKEN": "Failed to create auth token",
}
THOUGHTSPOT_EVENT_DESCRIPTIONS: dict[str, str] = {
    name: THOUGHTSPOT_SAMPLE_DESCRIPTIONS.get(name)
    or _TS_DESC_UNPUBLISHED.get(name)
    or name.replace("_", " ").capitalize()
    for name in THOUGHTSPOT_EVENT_TYPES
}

# Background mix. Logins dominate; every name keeps enough weight (>= 0.15 of ~100) to appear in a default
# 30-day x 300/day history. Names a scenario needs to control (API tokens in Mode) are left to the scenarios.
TS_WEIGHTS: dict[str, float] = {name: 0.15 for name in THOUGHTSPOT_EVENT_TYPES}
TS_WEIGHTS.update(
    {
        "LOGIN_SUCCESSFUL": 34.0,
        "LOGOUT_SUCCESSFUL": 14.0,
        "LOGIN_FAILED": 4.0,
        "AUTH_TOKEN_CREATED_SUCCESSFULLY": 6.0,
        "CREATE_ANSWER": 4.0,
        "UPDATE_ANSWERS": 4.0,
        "DELETE_ANSWERS": 1.0,
        "CREATE_PINBOARD": 2.5,
        "UPDATE_PINBOARDS": 3.5,
        "DELETE_PINBOARDS": 0.8,
        "SHARE_OBJECTS": 2.0,
        "CREATE_MODEL": 0.8,
        "UPDATE_MODEL": 1.2,
        "CSV_UPLOAD_STARTED": 0.6,
        "CSV_UPLOAD_FINISHED": 0.6,
        "ORG_SWITCH_SUCCESSFUL": 1.5,
        "USERS_MODIFIED": 0.8,
        "PRINCIPALS_IN_GROUP_UPDATE": 0.6,
        "UPDATE_PASSWORD": 0.5,
        "EDIT_CONNECTION": 0.4,
    }
)
MODE_SCENARIO_ONLY = {
    "api_token_workspace_created",
    "api_token_workspace_revoked",
    "api_token_member_key_generated",
    "api_token_member_key_revoked",
}
MODE_WEIGHTS: dict[str, float] = {name: 0.6 for name in MODE_ACTIONS if name not in MODE_SCENARIO_ONLY}
MODE_WEIGHTS.update(
    {
        "report_activity_report_edited": 18.0,
        "report_activity_sql_added": 8.0,
        "report_activity_report_created": 6.0,
        "report_activity_visualization_added": 6.0,
        "export_data_sql_exported": 4.0,
        "export_data_report_exported_csv": 3.0,
        "export_data_report_exported_pdf": 1.5,
        "report_schedule_edited": 2.0,
        "collection_member_added": 1.5,
        "group_member_added": 1.5,
        "audit_log_accessed": 1.0,
    }
)
TS_ADMIN_PREFIXES = ("ORG_", "ROLE", "PRIVILEGE", "USER_GROUP", "USERS_")
TS_CLUSTER_PREFIXES = ("ORG_CREATION", "ORG_DELETION", "ORG_ACCESS")  # orgId -1 (cluster-level) events
TS_ANONYMOUS = frozenset({"LOGIN_FAILED", "ACCOUNT_LOCKED"})  # userGUID/userName null; name in data.userName
TS_CONNECTION_TYPES = frozenset(n for n in THOUGHTSPOT_EVENT_TYPES if "CONNECTION" in n or "CONFIGURATION" in n)
MODE_CONNECTION_ACTIONS = frozenset(n for n in MODE_ACTIONS if n.startswith("connection_"))
# Administrative work (privilege, group, role, org, connection, RLS and token changes) happens at a desk: in the
# background it is kept to weekdays in office hours, so the planted off-hours changes are the findings an
# off-hours rule should raise (issue 11: <= 10% of background privileged changes flagged).
BUSINESS_HOURS_UTC = (9, 17)
TS_OFFICE_TYPES = frozenset(
    n
    for n in THOUGHTSPOT_EVENT_TYPES
    if n in TS_CONNECTION_TYPES
    or n.startswith(TS_ADMIN_PREFIXES)
    or n
    in {
        "PRINCIPALS_IN_GROUP_UPDATE",
        "DATA_UPLOAD_CONFIGURED",
        "CREATE_RLS_RULE",
        "UPDATE_RLS_RULE",
        "DELETE_RLS_RULES",
    }
)
MODE_OFFICE_ACTIONS = frozenset(
    n
    for n in MODE_ACTIONS
    if n.startswith(("org_user_", "group_", "workspace_", "collection_", "connection_", "api_token_"))
)
