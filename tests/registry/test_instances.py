"""Several tenants: how instances are resolved from dlt's sections, and that a tenant never borrows another's
identity or credentials. No network: the sources refuse before any request."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.ingest_runner import build_source, make_pipeline, run_ingest
from pipelines.settings import ConfigurationError
from pipelines.sources.common.errors import SourceError
from pipelines.sources.instances import find, instances_of, is_multi, select_instances, thoughtspot_push_tokens

EU = "SOURCES__THOUGHTSPOT__INSTANCES__EU__"
US = "SOURCES__THOUGHTSPOT__INSTANCES__US__"


def _cluster(monkeypatch: pytest.MonkeyPatch, prefix: str, host: str, **extra: str) -> None:
    monkeypatch.setenv(f"{prefix}BASE_URL", f"https://{host}")
    monkeypatch.setenv(f"{prefix}USERNAME", "audit_reader")
    for key, value in extra.items():
        monkeypatch.setenv(f"{prefix}{key.upper()}", value)


def test_flat_settings_are_one_implicit_instance_with_the_pipeline_name_it_always_had(warehouse: Path, monkeypatch):
    monkeypatch.setenv("SOURCES__THOUGHTSPOT__BASE_URL", "https://acme.thoughtspot.cloud")
    (only,) = instances_of("thoughtspot")
    assert only.name is None and only.label == "default" and not is_multi("thoughtspot")
    assert only.pipeline_name("thoughtspot") == "auditlake_thoughtspot"
    assert make_pipeline("thoughtspot", only).pipeline_name == "auditlake_thoughtspot"
    assert find("thoughtspot", "default") == only
    assert [i.name for _, i in select_instances(["thoughtspot", "mode"])] == [None, None]


def test_named_instances_from_env_each_with_its_own_pipeline_and_identity(warehouse: Path, monkeypatch):
    _cluster(monkeypatch, US, "us.example.com", secret_key="0123", org_ids="[0, 583464508]", window_hours="6")
    _cluster(monkeypatch, EU, "eu.example.com:8443", password="eu-password")
    eu, us = instances_of("thoughtspot")
    assert (eu.name, us.name) == ("eu", "us") and is_multi("thoughtspot")
    assert (eu.data_instance, us.data_instance) == ("eu.example.com:8443", "us.example.com")
    # Read as dlt would: a list, a number; a numeric-looking secret stays text.
    assert (us.arguments["org_ids"], us.arguments["window_hours"], us.arguments["secret_key"]) == (
        [0, 583464508],
        6,
        "0123",
    )
    assert eu.pipeline_name("thoughtspot") == "auditlake_thoughtspot__eu"
    assert make_pipeline("thoughtspot_entitlements", us).pipeline_name == "auditlake_thoughtspot_entitlements__us"
    # The entitlement snapshots read the same tenants (same dlt section).
    assert [i.name for i in instances_of("thoughtspot")] == ["eu", "us"]
    assert [(s, i.name) for s, i in select_instances(["thoughtspot", "thoughtspot_entitlements"], "us")] == [
        ("thoughtspot", "us"),
        ("thoughtspot_entitlements", "us"),
    ]
    # Secrets are never in a repr (logs, Dagster metadata, tracebacks print dataclasses).
    assert "0123" not in repr(us) and "eu-password" not in repr(eu)
    with pytest.raises(ConfigurationError, match="no configured instance is named 'apac'.*eu, us"):
        select_instances(["thoughtspot"], "apac")


def test_a_named_instance_never_borrows_the_flat_credentials(warehouse: Path, monkeypatch):
    # The flat secret belongs to another tenant: dlt's own lookup would fall back to it for the instance.
    monkeypatch.setenv("SOURCES__THOUGHTSPOT__SECRET_KEY", "flat-tenant-secret")
    _cluster(monkeypatch, EU, "127.0.0.1:9")
    (eu,) = instances_of("thoughtspot")
    with pytest.raises(SourceError) as caught:
        build_source("thoughtspot", progress=lambda _: None, instance=eu)
    message = str(caught.value)
    assert "instance 'eu' is listed but not configured" in message
    assert f"{EU}SECRET_KEY" in message and "flat-tenant-secret" not in message
    # In a run that is the instance's failure (not a skip), named after the instance.
    (summary,) = run_ingest(["thoughtspot"], progress=lambda _: None)
    assert summary.instance == "eu" and not summary.skipped
    assert summary.line().startswith("thoughtspot eu (127.0.0.1:9): FAILED") and f"{EU}SECRET_KEY" in summary.line()


def test_errors_name_the_instance_variables(warehouse: Path, monkeypatch):
    _cluster(monkeypatch, EU, "eu.example.com", secret_key="s")
    monkeypatch.setenv(f"{EU}BASE_URL", "http://eu.example.com")  # plain http to a remote host is refused
    (summary,) = run_ingest(["thoughtspot"], progress=lambda _: None)
    assert summary.error and f"{EU}BASE_URL" in summary.error, summary.error
    assert "SOURCES__THOUGHTSPOT__BASE_URL" not in summary.error


def test_two_instances_reading_the_same_cluster_are_refused(warehouse: Path, monkeypatch):
    _cluster(monkeypatch, EU, "acme.thoughtspot.cloud", secret_key="a")
    _cluster(monkeypatch, US, "acme.thoughtspot.cloud", secret_key="b")
    with pytest.raises(ConfigurationError, match="'eu' and 'us'.*both read acme.thoughtspot.cloud"):
        instances_of("thoughtspot")


def test_an_unusable_instance_name_is_refused(warehouse: Path, monkeypatch):
    _cluster(monkeypatch, "SOURCES__THOUGHTSPOT__INSTANCES__9LIVES__", "x.example.com")
    with pytest.raises(ConfigurationError, match="instance name '9lives'"):
        instances_of("thoughtspot")


@pytest.fixture
def dlt_project(warehouse: Path):
    """dlt reading .dlt/*.toml of the test's home: a process reads its toml files once, so `reread()` after
    writing them; afterwards they are removed and reread, so no later test in this worker sees them."""
    home = warehouse.parent.parent
    (home / ".dlt").mkdir(exist_ok=True)
    try:
        yield home / ".dlt"
    finally:
        for file in (home / ".dlt").glob("*.toml"):
            file.unlink()
        reread()


def reread() -> None:
    from dlt.common.configuration.container import Container
    from dlt.common.configuration.specs import PluggableRunContext

    Container()[PluggableRunContext].reload_providers()


def test_toml_sections_merge_config_and_secrets_and_refuse_secrets_in_config(dlt_project: Path, monkeypatch):
    dlt_dir = dlt_project
    (dlt_dir / "config.toml").write_text(
        '[sources.thoughtspot.instances.eu]\nbase_url = "https://eu.example.com"\nusername = "r"\norg_ids = [0, 7]\n'
        '[sources.mode.instances.main]\nworkspace = "acme"\n'
    )
    (dlt_dir / "secrets.toml").write_text(
        '[sources.thoughtspot.instances.eu]\nsecret_key = "eu-secret"\npush_token = "eu-push"\n'
    )
    reread()
    monkeypatch.setenv("SOURCES__THOUGHTSPOT__INSTANCES__EU__USERNAME", "from-env")  # env wins, as in dlt
    (eu,) = instances_of("thoughtspot")
    assert dict(eu.arguments) == {
        "base_url": "https://eu.example.com",
        "username": "from-env",
        "org_ids": [0, 7],
        "secret_key": "eu-secret",
        "push_token": "eu-push",
    }
    assert [i.data_instance for i in instances_of("mode")] == ["acme"]
    assert thoughtspot_push_tokens() == {"eu-push": "eu.example.com"}
    (dlt_dir / "config.toml").write_text(
        '[sources.thoughtspot.instances.eu]\nbase_url = "https://eu.example.com"\nsecret_key = "oops"\n'
    )
    reread()
    with pytest.raises(ConfigurationError, match="secret_key is a secret but is in a file") as caught:
        instances_of("thoughtspot")
    assert "oops" not in str(caught.value)


def test_push_tokens_per_cluster(warehouse: Path, monkeypatch):
    monkeypatch.setenv("SOURCES__THOUGHTSPOT__BASE_URL", "https://acme.thoughtspot.cloud")
    monkeypatch.setenv("SOURCES__THOUGHTSPOT__PUSH_TOKEN", "flat-token")
    assert thoughtspot_push_tokens() == {"flat-token": "acme.thoughtspot.cloud"}
    _cluster(monkeypatch, EU, "eu.example.com", push_token="eu-token")
    _cluster(monkeypatch, US, "us.example.com:8443", push_token="us-token")
    # With named clusters the flat token is not one of them: it would file events under the wrong cluster.
    assert thoughtspot_push_tokens() == {"eu-token": "eu.example.com", "us-token": "us.example.com:8443"}
    monkeypatch.setenv(f"{US}PUSH_TOKEN", "eu-token")
    with pytest.raises(ConfigurationError, match="also another cluster's push token") as caught:
        thoughtspot_push_tokens()
    assert "eu-token" not in str(caught.value)


def test_graph_with_named_instances_has_an_asset_and_checks_per_instance(warehouse: Path, monkeypatch):
    import dagster as dg

    from pipelines.definitions import build_definitions
    from pipelines.orchestration.dlt_assets import ingest_run_config

    _cluster(monkeypatch, EU, "eu.example.com", secret_key="s1")
    _cluster(monkeypatch, US, "us.example.com", secret_key="s2")
    graph = build_definitions().resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"raw_thoughtspot/instances/eu", "raw_thoughtspot/instances/us"} <= keys
    assert {"raw_thoughtspot_entitlements/instances/eu", "raw_thoughtspot_entitlements/instances/us"} <= keys
    # The shared raw tables (the dbt sources) come after every instance, so dbt runs once all have loaded.
    events = graph.get(dg.AssetKey(["raw_thoughtspot", "security_audit_events"]))
    assert {k.to_user_string() for k in events.parent_keys} == {
        "raw_thoughtspot/instances/eu",
        "raw_thoughtspot/instances/us",
    }
    # Mode has no named instance: its assets are as they always were.
    assert "raw_mode/audit_logs" in keys and not any(k.startswith("raw_mode/instances") for k in keys)
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    for name in ("ingest", "freshness", "coverage", "quarantined_records"):
        assert {("raw_thoughtspot/instances/eu", name), ("raw_thoughtspot/instances/us", name)} <= checks
    assert ("raw_thoughtspot/security_audit_events", "freshness") not in checks
    assert ("raw_mode/audit_logs", "freshness") in checks
    # A backfill configures every instance's op.
    ops = ingest_run_config(since="2026-11-01", sources=("thoughtspot", "mode"))["ops"]
    assert set(ops) == {"ingest_thoughtspot__eu", "ingest_thoughtspot__us", "ingest_mode"}
