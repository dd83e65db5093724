"""Build one evidence pack: run the sections on a read-only warehouse, draw the charts, write the CSVs, index.html,
evidence.pdf and manifest.json into one folder."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pipelines.evidence import pack_charts, pack_manifest
from pipelines.evidence.pack_html import PackContext, cell_text, render_html
from pipelines.evidence.pack_pdf import write_pdf
from pipelines.evidence.pack_queries import SectionResult, Table, run_sections
from pipelines.settings import ConfigurationError
from pipelines.warehouse.engine import Warehouse


@dataclass
class PackResult:
    out: Path
    files: list[str]
    findings: int
    days_complete: int
    days: int
    chain_verified: bool


def auditlake_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("auditlake")
    except PackageNotFoundError:  # a checkout that was never installed
        return "unknown"


def last_month(today: date) -> tuple[date, date]:
    """The previous calendar month (what the monthly schedule builds)."""
    first_of_this = today.replace(day=1)
    end = first_of_this - timedelta(days=1)
    return end.replace(day=1), end


def _write_csv(path: Path, table: Table) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(table.columns)
        for row in table.rows:
            writer.writerow([v.isoformat() if isinstance(v, datetime | date) else v for v in row])


def _records(table: Table) -> list[dict[str, Any]]:
    return [dict(zip(table.columns, row)) for row in table.rows]


def _charts(results: list[SectionResult], start: date, end: date) -> dict[str, str]:
    charts: dict[str, str] = {}
    for result in results:
        chart = result.section.chart
        if chart == "coverage_heatmap" and not result.table.unavailable:
            rows = _records(result.table)
            cells = {
                (f"{r['source_system']}: {r['source_instance']}", r["evidence_date"]): (
                    r["coverage_status"],
                    r["chain_status"] == "sealed",
                )
                for r in rows
            }
            instances = sorted({instance for instance, _ in cells})
            charts[result.section.key] = pack_charts.coverage_heatmap(cells, instances, start, end)
        elif chart and result.chart_rows is not None and not result.chart_rows.unavailable:
            rows = _records(result.chart_rows)
            names = [c for c in result.chart_rows.columns if c != "day"]
            series = {name: {r["day"]: float(r[name] or 0) for r in rows} for name in names}
            title = "Per UTC day: " + ", ".join(n.replace("_", " ") for n in names)
            charts[result.section.key] = pack_charts.daily_series(title, start, end, series, bars=names[0])
    return charts


def build_pack(start: date, end: date, out: Path, warehouse: Warehouse | Path | str | None = None) -> PackResult:
    """Write the pack for UTC days start..end (inclusive) into `out` (created; files of an older pack replaced)."""
    from pipelines.warehouse.health import open_for_reading
    from pipelines.warehouse.integrity import verify_integrity_chain

    if end < start:
        raise ConfigurationError(f"--to {end} is before --from {start}: give the period's first day, then its last")
    out.mkdir(parents=True, exist_ok=True)
    generated_at = datetime.now(timezone.utc).replace(microsecond=0)
    version = auditlake_version()
    with open_for_reading(warehouse) as (con, read_path):
        results = run_sections(con, start, end)
        problems = verify_integrity_chain(con)
        provenance = {
            "path": str(read_path),
            "dlt_loads": pack_manifest.dlt_loads(con),
            "dbt_invocation": pack_manifest.dbt_invocation(),
            "ducklake_snapshots": pack_manifest.ducklake_snapshots(con),
        }
    # A stale CSV of an earlier pack in the same folder would be listed in the manifest as if it were evidence.
    for stale in out.glob("*.csv"):
        stale.unlink()
    csv_names: dict[str, str] = {}
    for number, result in enumerate(results, 1):
        tables = [result.table, *result.extras] + ([result.chart_rows] if result.chart_rows else [])
        for table in tables:
            name = f"{number:02d}_{table.name}.csv"
            csv_names[table.name] = name
            _write_csv(out / name, table)
    by_key = {r.section.key: r for r in results}
    coverage = _records(by_key["scope_coverage"].table)
    findings = by_key["findings"].table
    summary = [
        ("findings in the period", len(findings.rows)),
        ("critical / high findings", sum(1 for r in _records(findings) if r["severity"] in ("critical", "high"))),
        ("source instances", len({(r["source_system"], r["source_instance"]) for r in coverage})),
        ("instance-days complete", f"{sum(r['coverage_status'] == 'complete' for r in coverage)} / {len(coverage)}"),
        ("hash chain", "verified" if not problems else f"{len(problems)} problem(s)"),
    ]
    context = PackContext(start, end, generated_at, version, read_path.name, summary)
    charts = _charts(results, start, end)
    (out / "index.html").write_text(render_html(context, results, charts, csv_names, pdf=False), encoding="utf-8")
    write_pdf(render_html(context, results, charts, csv_names, pdf=True), out / "evidence.pdf")
    chain_days = pack_manifest.integrity_days(coverage, problems, verified=not problems)
    status_counts: dict[str, int] = defaultdict(int)
    for day in chain_days:
        status_counts[day["chain_status"]] += 1
    pack_manifest.write_manifest(
        out,
        start=start,
        end=end,
        generated_at=generated_at,
        version=version,
        warehouse=provenance,
        integrity={
            "verified": not problems,
            "problems": [str(p) for p in problems],
            "status_counts": dict(status_counts),
            "days": chain_days,
        },
        sections={
            r.section.key: {
                "title": r.section.title,
                "controls": list(r.section.controls),
                "rows": len(r.table.rows),
                "csv": csv_names[r.table.name],
                "unavailable": r.table.unavailable,
            }
            for r in results
        },
    )
    return PackResult(
        out=out,
        files=sorted(p.name for p in out.iterdir() if p.is_file()),
        findings=len(findings.rows),
        days_complete=sum(r["coverage_status"] == "complete" for r in coverage),
        days=len(coverage),
        chain_verified=not problems,
    )


__all__ = ["PackResult", "build_pack", "cell_text", "last_month"]
