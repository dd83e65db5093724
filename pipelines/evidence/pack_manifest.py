"""manifest.json: the sha256 of every file in the pack, where the data came from (warehouse, dlt loads, dbt
invocation, DuckLake snapshot when the warehouse is a DuckLake catalog), the auditlake version, and the
integrity-chain status of each source instance and day of the period."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from pipelines.settings import DBT_PROJECT_DIR
from pipelines.sources import registry


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dlt_loads(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Per raw dataset: the completed dlt loads (status 0) the warehouse holds, newest last."""
    loads: dict[str, Any] = {}
    for spec in registry.all_sources():
        try:
            rows = con.execute(
                f"select load_id, inserted_at from {spec.dataset}._dlt_loads where status = 0 order by load_id"
            ).fetchall()
        except duckdb.Error:  # a source never loaded into this warehouse has no dlt bookkeeping
            continue
        loads[spec.dataset] = {
            "loads": len(rows),
            "last_load_id": rows[-1][0] if rows else None,
            "last_inserted_at": rows[-1][1].isoformat() if rows else None,
            "load_ids": [r[0] for r in rows],
        }
    return loads


def dbt_invocation(target_dir: Path | None = None) -> dict[str, Any] | None:
    """The newest dbt run_results.json under the dbt project's target folder (dagster-dbt writes one folder per
    invocation): which dbt invocation built the marts the pack read. None when dbt never wrote one here."""
    target_dir = target_dir or DBT_PROJECT_DIR / "target"
    candidates = (
        sorted(target_dir.rglob("run_results.json"), key=lambda p: p.stat().st_mtime) if target_dir.exists() else []
    )
    for path in reversed(candidates):
        try:
            metadata = json.loads(path.read_text())["metadata"]
        except (OSError, ValueError, KeyError):
            continue
        return {
            "invocation_id": metadata.get("invocation_id"),
            "generated_at": metadata.get("generated_at"),
            "dbt_version": metadata.get("dbt_version"),
        }
    return None


def ducklake_snapshots(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Current snapshot id of every attached DuckLake catalog (empty for a plain DuckDB warehouse)."""
    snapshots: dict[str, int] = {}
    try:
        catalogs = [
            r[0] for r in con.execute("select database_name from duckdb_databases() where type = 'ducklake'").fetchall()
        ]
    except duckdb.Error:
        return snapshots
    for catalog in catalogs:
        try:
            row = con.execute("select max(snapshot_id) from ducklake_snapshots(?)", [catalog]).fetchone()
        except duckdb.Error:
            continue
        if row and row[0] is not None:
            snapshots[catalog] = int(row[0])
    return snapshots


def integrity_days(coverage: list[dict[str, Any]], problems: list[Any], verified: bool) -> list[dict[str, Any]]:
    """Each (source instance, day) of the period: sealed / not sealed / broken (recomputation differs)."""
    broken = {(p.source_system, p.source_instance, p.day): p.problem for p in problems if p.day is not None}
    days = []
    for row in coverage:
        key = (row["source_system"], row["source_instance"], row["evidence_date"])
        status = row["chain_status"]
        if key in broken:
            status = "broken"
        days.append(
            {
                "source_system": row["source_system"],
                "source_instance": row["source_instance"],
                "date": row["evidence_date"].isoformat(),
                "coverage": row["coverage_status"],
                "chain_status": status,
                "chain_position": row["chain_position"],
                "chain_hash": row["chain_hash"],
                **({"problem": broken[key]} if key in broken else {}),
            }
        )
    return days


def write_manifest(
    out: Path,
    *,
    start: date,
    end: date,
    generated_at: datetime,
    version: str,
    warehouse: dict[str, Any],
    integrity: dict[str, Any],
    sections: dict[str, Any],
) -> Path:
    files = {}
    for path in sorted(p for p in out.iterdir() if p.is_file() and p.name != "manifest.json"):
        files[path.name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    manifest = {
        "kind": "auditlake evidence pack",
        "auditlake_version": version,
        "generated_at": generated_at.isoformat(),
        "period": {"start": start.isoformat(), "end": end.isoformat(), "days": "UTC, both inclusive"},
        "warehouse": warehouse,
        "integrity_chain": integrity,
        "sections": sections,
        "files": files,
    }
    path = out / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return path
