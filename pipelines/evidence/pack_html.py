"""index.html (and the HTML WeasyPrint paginates into evidence.pdf) from one Jinja2 template."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2

from pipelines.evidence.pack_queries import SectionResult, Table

TEMPLATES = Path(__file__).parent / "templates"
# Enough to read on screen / paper; the CSV beside the pack always has every row.
MAX_ROWS_HTML = 500
MAX_ROWS_PDF = 200
# A row whose flag is true is a finding: highlighted.
FLAG_COLUMNS = {
    "is_brute_force_by_user",
    "is_brute_force_by_ip",
    "is_lockout",
    "is_followed_by_success",
    "is_self_grant",
    "is_admin_grant",
    "activity_after_deletion",
    "is_anomalous",
    "is_never_revoked",
    "is_off_hours",
    "is_cross_product_leaver",
    "has_activity_after_removal",
}
WRAP_COLUMNS = {"privileges", "other_product_statuses", "title", "subject", "group_names"}
# Long keys and hashes are shortened on the page (full value on hover and in the CSV).
MAX_CELL_CHARS = 80


@dataclass
class PackContext:
    start: date
    end: date
    generated_at: datetime
    version: str
    warehouse_name: str
    summary: list[tuple[str, Any]]


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _table_view(table: Table, heading: str | None, csv_name: str, limit: int) -> dict[str, Any]:
    flags = [i for i, c in enumerate(table.columns) if c in FLAG_COLUMNS]
    rows = []
    for row in table.rows[:limit]:
        cells = []
        for i, value in enumerate(row):
            text = cell_text(value)
            short = text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"
            cells.append(
                {
                    "text": short,
                    "full": text if short != text else None,
                    "wrap": table.columns[i] in WRAP_COLUMNS,
                    "severity": table.columns[i] == "severity",
                }
            )
        rows.append({"cells": cells, "flag": any(row[i] is True for i in flags)})
    return {
        "heading": heading,
        "columns": table.columns,
        "rows": rows,
        "total": len(table.rows),
        "shown": min(limit, len(table.rows)),
        "csv": csv_name,
        "sql": table.sql,
        "unavailable": table.unavailable,
    }


def render_html(
    context: PackContext, results: list[SectionResult], charts: dict[str, str], csv_names: dict[str, str], pdf: bool
) -> str:
    limit = MAX_ROWS_PDF if pdf else MAX_ROWS_HTML
    sections = []
    for result in results:
        section = result.section
        tables = [_table_view(result.table, None, csv_names[result.table.name], limit)]
        tables += [
            _table_view(extra, extra.name.replace("_", " ").capitalize(), csv_names[extra.name], limit)
            for extra in result.extras
        ]
        if result.chart_rows is not None:
            chart_view = _table_view(result.chart_rows, "Chart data", csv_names[result.chart_rows.name], limit)
            chart_view["rows"], chart_view["unavailable"] = chart_view["rows"], result.chart_rows.unavailable
            tables.append(chart_view)
        sections.append(
            {
                "key": section.key,
                "title": section.title,
                "controls": section.controls,
                "intro": section.intro,
                "chart_svg": charts.get(section.key),
                "tables": tables,
            }
        )
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    return environment.get_template("pack.html.j2").render(
        period=f"{context.start.isoformat()} to {context.end.isoformat()}",
        start=context.start.isoformat(),
        end=context.end.isoformat(),
        generated_at=context.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        version=context.version,
        warehouse_name=context.warehouse_name,
        summary=context.summary,
        sections=sections,
        pdf=pdf,
    )
