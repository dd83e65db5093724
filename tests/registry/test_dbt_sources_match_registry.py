"""The dbt sources and the source registry name the same raw tables: a source added on one side only fails here."""

from __future__ import annotations

import json

from pipelines.orchestration.dbt_manifest import ensure_manifest
from pipelines.sources import registry


def test_dbt_sources_are_exactly_the_registered_raw_tables() -> None:
    manifest = json.loads(ensure_manifest().read_text())
    in_dbt = {(node["source_name"], node["name"]) for node in manifest["sources"].values()}
    in_registry = {(spec.dataset, table) for spec in registry.BUILT_IN if spec.feeds_dbt for table in spec.tables}
    assert in_dbt == in_registry, (
        f"only in dbt: {sorted(in_dbt - in_registry)}; only in the registry: {sorted(in_registry - in_dbt)}"
    )
    for node in manifest["sources"].values():
        assert node["schema"] == node["source_name"], f"dbt source {node['source_name']} must read schema of that name"
