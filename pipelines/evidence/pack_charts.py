"""The pack's charts as inline SVG, drawn by matplotlib's SVG backend (offline, no browser, text kept as text).

Output is deterministic for the same rows (fixed hash salt, no date in the metadata), so two packs of the same
warehouse and period have the same sums.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import matplotlib

matplotlib.use("svg")  # no display, no GUI toolkit: the pack is built in cron / Dagster runs

import matplotlib.pyplot as plt
from matplotlib.artist import Artist
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

COVERAGE_STATES = ("complete", "gap recoverable", "lost", "no data")
COVERAGE_COLOURS = ("#2e7d32", "#f9a825", "#c62828", "#e0e0e0")

plt.rcParams.update(
    {
        "svg.fonttype": "none",  # text stays text: searchable, and small
        "svg.hashsalt": "auditlake-evidence",
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)


def _svg(figure: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    text = buffer.getvalue()
    # the XML prolog and DOCTYPE are not allowed inside HTML; the <svg> element is
    return text[text.index("<svg") :]


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def coverage_heatmap(
    cells: dict[tuple[str, date], tuple[str, bool]], instances: list[str], start: date, end: date
) -> str:
    """A calendar per source instance: one cell per day coloured by coverage, a dot where the day is sealed into the
    hash chain. cells: (instance, day) -> (coverage status, sealed)."""
    days = days_between(start, end)
    if not instances:
        instances = ["(no source instance)"]
    grid = [[COVERAGE_STATES.index(cells.get((inst, d), ("no data", False))[0]) for d in days] for inst in instances]
    width = min(11.5, 2.5 + 0.28 * len(days))
    figure, axes = plt.subplots(figsize=(width, 0.9 + 0.42 * len(instances)))
    axes.imshow(grid, cmap=ListedColormap(COVERAGE_COLOURS), vmin=0, vmax=len(COVERAGE_STATES) - 1, aspect="auto")
    for row, inst in enumerate(instances):
        for col, day in enumerate(days):
            if cells.get((inst, day), ("", False))[1]:
                axes.plot(col, row, marker="o", markersize=3, color="black")
    step = max(1, len(days) // 16)
    axes.set_xticks(range(0, len(days), step), [d.strftime("%m-%d") for d in days[::step]])
    axes.set_yticks(range(len(instances)), instances)
    axes.tick_params(length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    legend: list[Artist] = [Patch(color=c, label=s) for s, c in zip(COVERAGE_STATES, COVERAGE_COLOURS)]
    legend.append(
        plt.Line2D([], [], marker="o", color="black", linestyle="", markersize=4, label="sealed in hash chain")
    )
    axes.legend(handles=legend, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=5, frameon=False)
    axes.set_title("Coverage per source instance and UTC day", loc="left")
    return _svg(figure)


def daily_series(
    title: str, start: date, end: date, series: dict[str, dict[date, float]], bars: str | None = None
) -> str:
    """Daily values over the whole period (days without rows are zero, not missing): `bars` is drawn as bars,
    the other series as lines."""
    days = days_between(start, end)
    figure, axes = plt.subplots(figsize=(min(11.5, 3 + 0.3 * len(days)), 2.8))
    xs = list(range(len(days)))
    for name, values in series.items():
        ys = [values.get(d, 0) for d in days]
        if name == bars:
            axes.bar(xs, ys, color="#90a4ae", label=name, width=0.8)
        else:
            axes.plot(xs, ys, marker="o", markersize=3, linewidth=1.5, label=name)
    step = max(1, len(days) // 16)
    axes.set_xticks(xs[::step], [d.strftime("%m-%d") for d in days[::step]])
    axes.set_title(title, loc="left")
    axes.legend(frameon=False, loc="upper left", ncol=len(series))
    axes.margins(y=0.25)
    return _svg(figure)
