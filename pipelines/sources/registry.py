"""The one list of sources: every consumer (CLI, Dagster assets and checks, `status`, the demo, the tests and the
dbt sources test) reads it, so adding a source is one entry here plus one folder under `pipelines/sources/`.

A third party can add a source without editing this file: publish a `SourceSpec` under the entry-point group
`auditlake.sources` (or call `register()` before building the definitions, as the tests do).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import metadata
from typing import Any

# Every source writes its events table plus these two; their columns are in raw_tables.py.
QUARANTINE_TABLE = "quarantined_records"
WINDOWS_TABLE = "ingest_windows"
SIDECAR_TABLES = {
    QUARANTINE_TABLE: "Records the API returned that could not be parsed, kept verbatim with the reason.",
    WINDOWS_TABLE: "One row per time window fetched: the coverage and duplicate counts behind the evidence mart.",
}
# A state source (kind="state": entitlement snapshots) writes its state tables plus this one: one row per COMPLETE
# snapshot (written last, in the same load, so a snapshot that failed on any page leaves no row).
SNAPSHOTS_TABLE = "snapshot_runs"
SNAPSHOTS_DESCRIPTION = (
    "One row per complete entitlement snapshot (instance, snapshot_at, row counts): the first row is the earliest date "
    "the state can be read for; a failed page fails the snapshot, which then leaves no row."
)
EVENTS_KIND = "events"
STATE_KIND = "state"
ENTRY_POINT_GROUP = "auditlake.sources"


def _load(dotted: str) -> Any:
    """`package.module:attribute` -> the attribute, imported on first use (keeps `auditlake --help` fast)."""
    module_name, _, attribute = dotted.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


@dataclass(frozen=True)
class SourceSpec:
    """What the rest of auditlake needs to know about one source."""

    name: str  # CLI `--source` value, dlt source name, Dagster op suffix
    title: str  # the product as people say it ("ThoughtSpot")
    description: str  # what its events table holds, for the asset description
    source_factory: str  # "module:function" returning the configured dlt source; raises SourceNotConfigured
    dataset: str  # raw schema = dbt source name = first part of the raw asset keys
    events_table: str
    event_time_column: str  # the column the vendor's window filter applies to
    config_variables: tuple[str, ...]  # what an operator sets to enable it (named in "not configured" notices)
    retention: timedelta | None  # how far back the vendor still serves events (None: not documented)
    max_window: timedelta  # the longest request window the vendor accepts
    simulator: str | None = None  # "module:Class" of the local simulator serving this source (demo, tests)
    simulator_environment: str | None = None  # "module:function(sim) -> {env var: value}" pointing the source at it
    feeds_dbt: bool = True  # whether dbt models read its raw tables (the dbt sources test checks both ways)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    # "events": a windowed audit log (events_table + the two sidecars). "state": full snapshots of who holds what
    # (state_tables kept as dlt scd2 history, plus SNAPSHOTS_TABLE, which is then its events_table).
    kind: str = EVENTS_KIND
    state_tables: dict[str, str] = field(default_factory=dict, compare=False)  # table -> description
    # dlt config section of its settings and instances (default: its name); entitlements share their audit source's.
    config_section: str | None = None

    @property
    def section(self) -> str:
        return self.config_section or self.name

    def instances(self) -> tuple[Any, ...]:
        """The tenants it reads (`instances.SourceInstance`): the named ones, else the implicit flat-settings one."""
        from pipelines.sources.instances import instances_of

        return instances_of(self.section)

    @property
    def is_state(self) -> bool:
        return self.kind == STATE_KIND

    @property
    def tables(self) -> tuple[str, ...]:
        if self.is_state:
            return (*self.state_tables, SNAPSHOTS_TABLE)
        return (self.events_table, *SIDECAR_TABLES)

    def table_descriptions(self) -> dict[str, str]:
        """Every raw table this source writes, with what it holds (the asset descriptions)."""
        if self.is_state:
            return {**self.state_tables, SNAPSHOTS_TABLE: SNAPSHOTS_DESCRIPTION}
        return {self.events_table: self.description, **SIDECAR_TABLES}

    def factory(self) -> Callable[..., Any]:
        return _load(self.source_factory)

    def simulator_class(self) -> Any:
        if self.simulator is None:
            raise LookupError(f"source {self.name!r} has no simulator")
        return _load(self.simulator)

    def environment_for(self, simulator: Any) -> dict[str, str]:
        """The environment variables that point this source at a running simulator."""
        if self.simulator_environment is None:
            raise LookupError(f"source {self.name!r} has no simulator environment")
        return dict(_load(self.simulator_environment)(simulator))


BUILT_IN: tuple[SourceSpec, ...] = (
    SourceSpec(
        name="thoughtspot",
        title="ThoughtSpot",
        description=(
            "ThoughtSpot Cloud security audit events, one row per vendor event (merge on source_instance + id)."
        ),
        source_factory="pipelines.sources.thoughtspot:thoughtspot_source",
        dataset="raw_thoughtspot",
        events_table="security_audit_events",
        event_time_column="date",
        config_variables=(
            "SOURCES__THOUGHTSPOT__BASE_URL",
            "SOURCES__THOUGHTSPOT__USERNAME",
            "SOURCES__THOUGHTSPOT__SECRET_KEY (or __PASSWORD)",
        ),
        # ThoughtSpot keeps security events for 30 days; logs/fetch accepts at most 24 h per request.
        retention=timedelta(days=30),
        max_window=timedelta(hours=24),
        simulator="pipelines.simulators:ThoughtSpotSimulator",
        simulator_environment="pipelines.simulators.serve:environment",
    ),
    SourceSpec(
        name="mode",
        title="Mode",
        description="Mode workspace audit logs, one row per vendor entry (merge on source_instance + id).",
        source_factory="pipelines.sources.mode:mode_source",
        dataset="raw_mode",
        events_table="audit_logs",
        event_time_column="timestamp",
        config_variables=("SOURCES__MODE__WORKSPACE", "SOURCES__MODE__API_TOKEN", "SOURCES__MODE__API_SECRET"),
        # Mode documents no retention for audit_logs; 30 days is assumed (safe: coverage is never over-claimed).
        retention=timedelta(days=30),
        max_window=timedelta(hours=24),
        simulator="pipelines.simulators:ModeSimulator",
        simulator_environment="pipelines.simulators.serve:environment",
    ),
    # Entitlement snapshots read the same tenants with the same credentials (dlt section of the audit source), so
    # the audit source's simulator environment configures them too: they name no simulator of their own.
    SourceSpec(
        name="thoughtspot_entitlements",
        title="ThoughtSpot entitlements",
        description="ThoughtSpot users, groups, memberships and privileges per org, one snapshot per run (scd2).",
        source_factory="pipelines.sources.thoughtspot_entitlements:thoughtspot_entitlements_source",
        dataset="raw_thoughtspot_entitlements",
        events_table=SNAPSHOTS_TABLE,
        event_time_column="snapshot_at",
        config_variables=(
            "SOURCES__THOUGHTSPOT__BASE_URL",
            "SOURCES__THOUGHTSPOT__USERNAME",
            "SOURCES__THOUGHTSPOT__SECRET_KEY (or __PASSWORD)",
        ),
        retention=None,
        max_window=timedelta(days=1),
        kind=STATE_KIND,
        config_section="thoughtspot",
        state_tables={
            "ts_orgs": "ThoughtSpot orgs (orgs/search), scd2 validity per row.",
            "ts_users": "ThoughtSpot accounts (users/search from Org 0): status, account type, email, created.",
            "ts_user_groups": (
                "Account x group, direct or inherited (users/search user_groups / user_inherited_groups)."
            ),
            "ts_user_privileges": "Account x effective privilege (users/search privileges).",
            "ts_groups": "Groups per org (groups/search): type, privileges, roles, sub-groups.",
        },
    ),
    SourceSpec(
        name="mode_entitlements",
        title="Mode entitlements",
        description="Mode workspace members (admin flag), groups and group memberships, one snapshot per run (scd2).",
        source_factory="pipelines.sources.mode_entitlements:mode_entitlements_source",
        dataset="raw_mode_entitlements",
        events_table=SNAPSHOTS_TABLE,
        event_time_column="snapshot_at",
        config_variables=("SOURCES__MODE__WORKSPACE", "SOURCES__MODE__API_TOKEN", "SOURCES__MODE__API_SECRET"),
        retention=None,
        max_window=timedelta(days=1),
        kind=STATE_KIND,
        config_section="mode",
        state_tables={
            "mode_memberships": "Workspace members (memberships or memberships/lite): admin flag, state, email.",
            "mode_groups": "Workspace groups (Business plan).",
            "mode_group_memberships": "Group x member_token (groups/{token}/memberships).",
        },
    ),
)

_registered: dict[str, SourceSpec] = {}
_plugins_loaded = False


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        spec = entry_point.load()
        register(spec() if callable(spec) and not isinstance(spec, SourceSpec) else spec)


def register(spec: SourceSpec) -> None:
    """Add a source (a plugin's, or a test's); its name and dataset must be new."""
    for existing in all_sources(load_plugins=False):
        if existing.name == spec.name or existing.dataset == spec.dataset:
            if existing == spec:
                return
            raise ValueError(f"source {spec.name!r} / dataset {spec.dataset!r} is already registered")
    _registered[spec.name] = spec


def unregister(name: str) -> None:
    _registered.pop(name, None)


def all_sources(load_plugins: bool = True) -> tuple[SourceSpec, ...]:
    if load_plugins:
        _load_plugins()
    return (*BUILT_IN, *_registered.values())


def names() -> tuple[str, ...]:
    return tuple(spec.name for spec in all_sources())


def get(name: str) -> SourceSpec:
    for spec in all_sources():
        if spec.name == name:
            return spec
    raise KeyError(f"unknown source {name!r}: choose one of {', '.join(names())}")


def event_sources() -> tuple[SourceSpec, ...]:
    return tuple(spec for spec in all_sources() if not spec.is_state)


def state_sources() -> tuple[SourceSpec, ...]:
    return tuple(spec for spec in all_sources() if spec.is_state)


def simulated() -> tuple[SourceSpec, ...]:
    """The sources the demo can serve from a local simulator."""
    return tuple(spec for spec in all_sources() if spec.simulator)
