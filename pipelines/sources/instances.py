"""Several tenants in one configuration: which instances (ThoughtSpot clusters, Mode workspaces) a source reads.

The one place instances are resolved; the ingest runner, the CLI, the Dagster assets and checks, `status` and the
push receiver read them here. Configuration follows dlt's sections (`.dlt/config.toml`, `.dlt/secrets.toml`, env):

    [sources.thoughtspot.instances.eu]           # config.toml
    base_url = "https://eu.thoughtspot.cloud"
    username = "audit_reader"
    org_ids = [0, 583464508]
    [sources.thoughtspot.instances.eu]           # secrets.toml (or SOURCES__THOUGHTSPOT__INSTANCES__EU__SECRET_KEY)
    secret_key = "..."
    push_token = "..."

Without any `instances` table the flat settings (SOURCES__THOUGHTSPOT__BASE_URL...) are one implicit instance,
read exactly as before (same dlt pipeline name, same state). With named instances the flat credentials are not
used: an instance's identity and credentials come only from its own section, never from the section above it (dlt's
lookup would fall back to it); tuning settings (overlap_minutes, window_hours...) not set on an instance are the
source's shared ones.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipelines.settings import ConfigurationError

INSTANCES_SECTION = "instances"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Identity and credentials of a tenant: an instance never inherits these from the flat settings.
_OWN_KEYS = {
    "thoughtspot": ("base_url", "username", "secret_key", "password", "org_ids", "push_token"),
    "mode": ("workspace", "api_token", "api_secret"),
}
SECRET_KEYS = frozenset({"secret_key", "password", "push_token", "api_token", "api_secret"})
# What the factory is called with per run; never read from an instance's section.
_RUN_ARGUMENTS = frozenset({"start", "until", "since", "max_windows", "resume", "snapshot_at"})


@dataclass(frozen=True)
class SourceInstance:
    """One tenant of a config section: `name` None is the implicit instance of the flat settings."""

    section: str  # dlt config section: "thoughtspot", "mode"
    name: str | None = None
    # Factory arguments from the instance's own section (secrets included: never printed, see __repr__).
    arguments: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def label(self) -> str:
        return self.name or "default"

    @property
    def config_prefix(self) -> str:
        """The env-var prefix of this instance's settings, named in errors and notices."""
        base = f"SOURCES__{self.section.upper()}__"
        return f"{base}{INSTANCES_SECTION.upper()}__{self.name.upper()}__" if self.name else base

    def pipeline_name(self, source: str) -> str:
        """The dlt pipeline (and state) of this instance: the implicit one keeps the name it always had."""
        return f"auditlake_{source}" if self.name is None else f"auditlake_{source}__{self.name}"

    @property
    def data_instance(self) -> str | None:
        """The `source_instance` value its rows carry (host[:port] of a cluster, a Mode workspace); None when the
        instance does not say (the implicit instance reads dlt's resolution at run time)."""
        if self.section == "thoughtspot" and self.arguments.get("base_url"):
            from pipelines.sources.common.url_safety import host_with_port

            try:
                return host_with_port(str(self.arguments["base_url"]))
            except Exception:  # an unusable URL is reported by the source when it runs
                return None
        if self.section == "mode" and self.arguments.get("workspace"):
            return str(self.arguments["workspace"])
        return None

    def factory_arguments(self, accepted: Mapping[str, Any]) -> dict[str, Any]:
        """What to pass the source factory (whose parameters are `accepted`): the instance's own settings, and ""
        for each identity/credential setting it lacks, so dlt does not fill it from the flat (other tenant's) one."""
        if self.name is None:
            return {}
        chosen = {k: v for k, v in self.arguments.items() if k in accepted and k not in _RUN_ARGUMENTS}
        for key in _OWN_KEYS.get(self.section, ()):
            if key in accepted and key not in chosen:
                chosen[key] = ""
        return chosen

    def localize(self, message: str) -> str:
        """An error or notice naming the flat variables, rewritten to name this instance's own."""
        if self.name is None:
            return message
        flat = f"SOURCES__{self.section.upper()}__"
        return re.sub(rf"\b{flat}(?!{INSTANCES_SECTION.upper()}__)", self.config_prefix, message)


def _providers() -> list[Any]:
    from dlt.common.configuration.container import Container
    from dlt.common.configuration.specs import PluggableRunContext

    return list(Container()[PluggableRunContext].providers.providers)


def _tables(section: str) -> list[tuple[bool, dict[str, Any]]]:
    """Every provider's `sources.<section>.instances` table (whether the provider may hold secrets, the table)."""
    from dlt.common.typing import AnyType

    tables = []
    for provider in _providers():
        if provider.is_empty:
            continue
        try:
            value, _ = provider.get_value(INSTANCES_SECTION, AnyType, None, "sources", section)
        except Exception:  # a provider that cannot hold tables (env) answers nothing useful
            continue
        if isinstance(value, Mapping):
            tables.append((bool(provider.supports_secrets), dict(value)))
    return tables


def _env_settings(section: str) -> dict[str, dict[str, str]]:
    """SOURCES__<SECTION>__INSTANCES__<NAME>__<KEY> variables, per instance name (dlt's env naming)."""
    prefix = f"SOURCES__{section.upper()}__{INSTANCES_SECTION.upper()}__"
    found: dict[str, dict[str, str]] = {}
    for variable, value in os.environ.items():
        if variable.startswith(prefix) and "__" in variable[len(prefix) :]:
            name, _, key = variable[len(prefix) :].partition("__")
            found.setdefault(name.lower(), {})[key.lower()] = value
    return found


_TEXT_KEYS = SECRET_KEYS | {"base_url", "username", "workspace"}


def _parse(key: str, value: Any) -> Any:
    """An env value as dlt would read it ("[0, 5]" a list, "6" a number); secrets and names stay text (a numeric
    secret key must reach the vendor as written)."""
    if isinstance(value, str) and key not in _TEXT_KEYS:
        from dlt.common.configuration.utils import auto_cast

        return auto_cast(value)
    return value


def instances_of(section: str) -> tuple[SourceInstance, ...]:
    """The instances configured under `sources.<section>`, named ones sorted by name; the implicit one if none."""
    merged: dict[str, dict[str, Any]] = {}
    # dlt's precedence: env first, then secrets.toml, then config.toml; the first provider naming a key wins.
    for name, settings in _env_settings(section).items():
        merged.setdefault(name, {}).update({k: _parse(k, v) for k, v in settings.items()})
    for holds_secrets, table in _tables(section):
        for name, settings in table.items():
            if not isinstance(settings, Mapping):
                raise ConfigurationError(
                    f"sources.{section}.{INSTANCES_SECTION}.{name} must be a table of settings "
                    f"([sources.{section}.{INSTANCES_SECTION}.{name}] with base_url, ...), not a single value"
                )
            own = merged.setdefault(str(name).lower(), {})
            for key, value in settings.items():
                if key in SECRET_KEYS and not holds_secrets:
                    raise ConfigurationError(
                        f"sources.{section}.{INSTANCES_SECTION}.{name}.{key} is a secret but is in a file for "
                        "non-secret settings (config.toml): move it to .dlt/secrets.toml or the environment "
                        f"({SourceInstance(section, str(name).lower()).config_prefix}{key.upper()})"
                    )
                own.setdefault(key, value)
    if not merged:
        return (SourceInstance(section),)
    instances = []
    for name in sorted(merged):
        if not _NAME.match(name):
            raise ConfigurationError(
                f"instance name {name!r} under sources.{section}.{INSTANCES_SECTION} is not usable: use lowercase "
                "letters, digits and underscores, starting with a letter (it names a dlt pipeline and Dagster assets)"
            )
        instances.append(SourceInstance(section, name, merged[name]))
    _refuse_shared_identity(section, instances)
    return tuple(instances)


def _refuse_shared_identity(section: str, instances: list[SourceInstance]) -> None:
    """Rows merge on (source_instance, id): two instances writing the same source_instance would mix tenants."""
    seen: dict[str, str] = {}
    for instance in instances:
        identity = instance.data_instance
        if identity is None:
            continue
        if identity in seen:
            raise ConfigurationError(
                f"instances {seen[identity]!r} and {instance.name!r} under sources.{section}.{INSTANCES_SECTION} "
                f"both read {identity}: list each cluster or workspace once (one instance can read several orgs)"
            )
        seen[identity] = str(instance.name)


def find(section: str, name: str | None) -> SourceInstance:
    """The instance `name` of a section (None or "default": the implicit one, when no instance is named)."""
    instances = instances_of(section)
    for instance in instances:
        if instance.name == name or (name == "default" and instance.name is None):
            return instance
    known = ", ".join(i.label for i in instances)
    raise ConfigurationError(
        f"no instance {name!r} under sources.{section}.{INSTANCES_SECTION}: configured are {known} "
        "(see README, 'Several tenants')"
    )


def select_instances(
    sources: Iterable[str] | None = None, instance: str | None = None
) -> list[tuple[str, SourceInstance]]:
    """(source, instance) pairs to run: every instance of each source, or only the instance named `instance` (of
    the sources that have one by that name; none of them having it is a ConfigurationError)."""
    from pipelines.sources import registry

    names = registry.names() if sources is None else tuple(sources)
    pairs = [(source, inst) for source in names for inst in registry.get(source).instances()]
    if instance is None:
        return pairs
    chosen = [(s, i) for s, i in pairs if i.name == instance or (instance == "default" and i.name is None)]
    if not chosen:
        known = sorted({i.label for _, i in pairs})
        raise ConfigurationError(
            f"no configured instance is named {instance!r}: choose one of {', '.join(known)} "
            "(instances are listed under [sources.<vendor>.instances.<name>], see README 'Several tenants')"
        )
    return chosen


def is_multi(section: str) -> bool:
    """Whether the section names instances (then each gets its own Dagster assets and checks)."""
    return any(i.name is not None for i in instances_of(section))


def thoughtspot_push_tokens() -> dict[str, str]:
    """Push token -> source_instance (host[:port]) for every ThoughtSpot cluster that has one, for the push
    receiver: the implicit instance's SOURCES__THOUGHTSPOT__PUSH_TOKEN / BASE_URL, or each named instance's own."""
    tokens: dict[str, str] = {}
    for instance in instances_of("thoughtspot"):
        token: Any
        identity: str | None
        if instance.name is None:
            import dlt

            token = dlt.secrets.get("sources.thoughtspot.push_token")
            base_url: Any = dlt.config.get("sources.thoughtspot.base_url")
            identity = None
            if base_url:
                from pipelines.sources.common.url_safety import host_with_port

                identity = host_with_port(str(base_url))
        else:
            token, identity = instance.arguments.get("push_token"), instance.data_instance
        if not token:
            continue
        if not identity:
            raise ConfigurationError(
                f"{instance.config_prefix}PUSH_TOKEN is set without {instance.config_prefix}BASE_URL: the receiver "
                "must know which cluster a pushed event comes from; set the cluster's base URL"
            )
        if str(token) in tokens:
            raise ConfigurationError(
                f"{instance.config_prefix}PUSH_TOKEN is also another cluster's push token: give each cluster its own"
            )
        tokens[str(token)] = identity
    return tokens
