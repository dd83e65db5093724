"""Every Dagster asset key of auditlake is decided here.

The join between ingestion and dbt is explicit: a raw table's asset key is [dataset, table] (`raw_asset_key`);
the ingest assets (dlt_assets.py) are specified with that key, and the dbt translator gives each dbt source the
same key, so the raw tables are the upstream of the staging models in one graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from pipelines.sources.registry import SourceSpec

RAW_GROUP = "raw"
DLT_KINDS = {"dlt", "duckdb"}


def raw_asset_key(spec: SourceSpec, table: str) -> dg.AssetKey:
    return dg.AssetKey([spec.dataset, table])


def instance_asset_key(spec: SourceSpec, instance: str) -> dg.AssetKey:
    """One named instance's (tenant's) share of a source's raw tables: [dataset, "instances", name]."""
    return dg.AssetKey([spec.dataset, "instances", instance])


def raw_asset_specs(spec: SourceSpec) -> list[dg.AssetSpec]:
    """The assets one source's ingest materialises: its events table and the two sidecar tables, or (a state
    source) its snapshot tables and snapshot_runs."""
    return [
        dg.AssetSpec(key=raw_asset_key(spec, table), group_name=RAW_GROUP, kinds=DLT_KINDS, description=text)
        for table, text in spec.table_descriptions().items()
    ]


class LayeredDbtTranslator(DagsterDbtTranslator):
    """Models are keyed [schema, model] (e.g. core/fct_audit_events) and grouped by layer; sources are raw keys."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            # dbt source name = raw dataset: the same key the dlt assets materialise.
            return spec.replace_attributes(key=dg.AssetKey([props["source_name"], props["name"]]))
        schema = props.get("schema") or "main"
        group = "catalogue" if props["resource_type"] == "seed" else schema
        return spec.replace_attributes(key=dg.AssetKey([schema, props["name"]]), group_name=group)


DBT_TRANSLATOR = LayeredDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
