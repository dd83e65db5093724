"""Flag rates of the compliance marts: background rate and precision / recall on the simulators' planted cases.

    .venv/bin/python bench/flag_rates.py                 # build a demo-sized warehouse from the simulators
    .venv/bin/python bench/flag_rates.py --days 10       # smaller
    .venv/bin/python bench/flag_rates.py --markdown      # the table as markdown (docs/flag-rates.md)
    .venv/bin/python bench/flag_rates.py --warehouse /tmp/flags/auditlake.duckdb   # keep the warehouse

The simulators plant findings (pipelines.simulators: `scenarios` of each simulator: a brute force, a lockout,
self-grants, a leaver still active, an export burst, a never-revoked token, off-hours connection changes) into
random background activity. For each flag: how many rows the mart has, how often the flag fires on background
rows (rows no scenario planted), and precision / recall on the planted rows. Imports only the public
`pipelines.simulators` API, never tests/.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines import settings
from pipelines.simulators import HistoryConfig, ModeSimulator, ThoughtSpotSimulator


@dataclass
class FlagRate:
    flag: str
    rows: int
    background_rows: int
    background_flagged: int
    planted: int
    planted_flagged: int
    flagged: int

    @property
    def background_rate(self) -> float:
        return self.background_flagged / self.background_rows if self.background_rows else 0.0

    @property
    def precision(self) -> float | None:
        return self.planted_flagged / self.flagged if self.flagged else None

    @property
    def recall(self) -> float | None:
        return self.planted_flagged / self.planted if self.planted else None


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def build_warehouse(warehouse: Path, days: int, events_per_day: int, seed: int) -> tuple[dict, dict]:
    """Ingest the simulators' history into `warehouse` and `dbt build` it, like `auditlake demo`."""
    from pipelines.ingest_runner import run_ingest
    from pipelines.warehouse.dbt_runner import run_dbt

    os.environ[settings.ENV_WAREHOUSE] = str(warehouse)
    os.environ[settings.ENV_PIPELINES_DIR] = str(warehouse.parent / ".dlt_pipelines")
    ts_history = HistoryConfig(seed=seed, days=days, events_per_day=events_per_day)
    mode_history = HistoryConfig(seed=seed + 1, days=days, events_per_day=max(20, events_per_day // 4))
    with ThoughtSpotSimulator(history=ts_history) as ts, ModeSimulator(history=mode_history) as mode:
        os.environ.update(
            {
                "SOURCES__THOUGHTSPOT__BASE_URL": ts.base_url,
                "SOURCES__THOUGHTSPOT__USERNAME": ts.username,
                "SOURCES__THOUGHTSPOT__SECRET_KEY": ts.secret_key,
                "SOURCES__MODE__BASE_URL": mode.base_url,
                "SOURCES__MODE__WORKSPACE": mode.workspace,
                "SOURCES__MODE__API_TOKEN": mode.api_token,
                "SOURCES__MODE__API_SECRET": mode.api_secret,
            }
        )
        os.environ.pop("SOURCES__THOUGHTSPOT__PASSWORD", None)
        for summary in run_ingest(["thoughtspot", "mode"], progress=lambda _: None):
            if summary.error:
                raise SystemExit(f"ingest of {summary.source} failed: {summary.error}")
        run_dbt(
            ["build", "--target-path", str(warehouse.parent / "target"), "--log-path", str(warehouse.parent / "logs")],
            warehouse=warehouse,
        )
        return dict(ts.scenarios), dict(mode.scenarios)


def _scenario_event_ids(scenarios: dict) -> set[str]:
    """Every event id a scenario planted (any key holding an id or a list of ids)."""
    ids: set[str] = set()
    for scenario in scenarios.values():
        for key, value in scenario.items():
            if "event_id" in key:
                ids.update(value if isinstance(value, list) else [value])
    return ids


def measure(con: duckdb.DuckDBPyConnection, ts: dict, mode: dict) -> list[FlagRate]:
    planted_any = sorted(_scenario_event_ids(ts) | _scenario_event_ids(mode))
    con.execute(
        "create or replace temp table planted_any as select unnest(?::varchar[]) as source_event_id", [planted_any]
    )

    def by_event(mart: str, flag: str, planted_ids: list[str]) -> FlagRate:
        """Marts with one row per event: planted = the scenario's events; background = no scenario's."""
        row = con.execute(
            f"""
            with rows as (
                select m.{flag} as flagged, f.source_event_id in (select unnest(?::varchar[])) as planted,
                    f.source_event_id in (select source_event_id from planted_any) as any_scenario
                from compliance.{mart} m join core.fct_audit_events f using (event_key)
            )
            select count(*), count(*) filter (where not any_scenario),
                count(*) filter (where not any_scenario and flagged), count(*) filter (where planted),
                count(*) filter (where planted and flagged), count(*) filter (where flagged)
            from rows
            """,
            [planted_ids],
        ).fetchone()
        return FlagRate(f"{mart}.{flag}", *row)

    def by_predicate(mart: str, flag: str, planted_sql: str, params: list) -> FlagRate:
        """Aggregated marts: planted rows are those matching the scenario's user / IP / day."""
        row = con.execute(
            f"""
            with rows as (select {flag} as flagged, ({planted_sql}) as planted from compliance.{mart})
            select count(*), count(*) filter (where not planted), count(*) filter (where not planted and flagged),
                count(*) filter (where planted), count(*) filter (where planted and flagged),
                count(*) filter (where flagged)
            from rows
            """,
            params,
        ).fetchone()
        return FlagRate(f"{mart}.{flag}", *row)

    brute, locked = ts["brute_force"], ts["account_locked"]
    self_grant_ids = [
        ts["self_grant"]["membership_event_id"],
        ts["self_grant"]["privilege_event_id"],
        ts["self_grant"]["roles_event_id"],
        mode["self_grant"]["event_id"],
    ]
    admin_grant_ids = [ts["self_grant"]["privilege_event_id"], mode["self_grant"]["event_id"]]
    off_hours_ids = ts["off_hours_connection_changes"]["event_ids"] + mode["off_hours_connection_changes"]["event_ids"]
    leaver_ids = [ts["deleted_user_activity"]["deletion_event_id"], mode["leaver_activity"]["removal_event_id"]]
    burst = mode["export_burst"]
    brute_rows = "user_name = ? and actor_ip = ?"
    return [
        by_event("rpt_privileged_changes", "is_self_grant", self_grant_ids),
        by_event("rpt_privileged_changes", "is_admin_grant", admin_grant_ids),
        by_event("rpt_privileged_changes", "is_off_hours", off_hours_ids),
        by_event("rpt_connection_changes", "is_off_hours", off_hours_ids),
        by_predicate(
            "rpt_authentication_failures", "is_brute_force_by_user", brute_rows, [brute["user_name"], brute["ip"]]
        ),
        by_predicate("rpt_authentication_failures", "is_brute_force_by_ip", "actor_ip = ?", [brute["ip"]]),
        by_predicate(
            "rpt_authentication_failures", "is_followed_by_success", brute_rows, [brute["user_name"], brute["ip"]]
        ),
        by_predicate(
            "rpt_authentication_failures", "is_lockout", "user_name = ? and lockouts > 0", [locked["user_name"]]
        ),
        by_event("rpt_user_lifecycle", "activity_after_deletion", leaver_ids),
        by_predicate(
            "rpt_data_exports",
            "is_anomalous",
            "user_name = ? and export_date = ?::date",
            [burst["username"], burst["burst_day"]],
        ),
        by_event("rpt_api_tokens", "is_never_revoked", [mode["api_token_never_revoked"]["created_event_id"]]),
    ]


# The simulators keep background connection changes inside 09:00-17:00 UTC on every day of the week
# (pipelines.simulators: BUSINESS_HOURS_UTC); that is the simulated tenants' working calendar.
SIMULATED_CALENDAR_NOTE = "every day 09-17 UTC, as the simulators document"


def measure_with_simulated_tenants_calendar(warehouse: Path, ts: dict, mode: dict) -> list[FlagRate]:
    """Give every instance the simulated tenants' calendar, as an operator would in the seed, let the next
    incremental build restate the off-hours marts (their rules fingerprint changes), and measure again."""
    from pipelines.warehouse.dbt_runner import run_dbt

    con = duckdb.connect(str(warehouse))
    try:
        con.execute(
            "update core.source_instance_calendars set time_zone = 'UTC',"
            " business_days_isodow = '1 2 3 4 5 6 7', business_hours_start = 9, business_hours_end = 17"
        )
    finally:
        con.close()
    run_dbt(
        [
            "run",
            "--select",
            "rpt_privileged_changes rpt_connection_changes",
            "--target-path",
            str(warehouse.parent / "target"),
            "--log-path",
            str(warehouse.parent / "logs"),
        ],
        warehouse=warehouse,
    )
    con = duckdb.connect(str(warehouse))
    try:
        return [rate for rate in measure(con, ts, mode) if rate.flag.endswith("is_off_hours")]
    finally:
        con.close()


def render(rates: list[FlagRate], markdown: bool) -> str:
    header = ["flag", "rows", "background rate", "planted", "precision", "recall"]
    lines = []
    for r in rates:
        lines.append(
            [
                r.flag,
                str(r.rows),
                f"{_pct(r.background_rate)} ({r.background_flagged}/{r.background_rows})",
                str(r.planted),
                _pct(r.precision),
                _pct(r.recall),
            ]
        )
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        out += ["| " + " | ".join(f"`{c}`" if i == 0 else c for i, c in enumerate(line)) + " |" for line in lines]
        return "\n".join(out)
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*header)] + [fmt.format(*line) for line in lines])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30, help="Days of simulated history (demo: 30).")
    parser.add_argument("--events-per-day", type=int, default=400, help="ThoughtSpot events per day (demo: 400).")
    parser.add_argument("--seed", type=int, default=7, help="Simulator seed (demo: 7).")
    parser.add_argument("--markdown", action="store_true", help="Print a markdown table.")
    parser.add_argument(
        "--warehouse",
        type=Path,
        default=None,
        help="Build the warehouse here and keep it (default: a temporary directory, removed).",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    with tempfile.TemporaryDirectory(prefix="auditlake-flag-rates-") as tmp:
        warehouse = args.warehouse.resolve() if args.warehouse else Path(tmp) / "auditlake.duckdb"
        if warehouse.exists():
            raise SystemExit(f"{warehouse} exists: give a new path (the benchmark builds it from the simulators)")
        warehouse.parent.mkdir(parents=True, exist_ok=True)
        ts, mode = build_warehouse(warehouse, args.days, args.events_per_day, args.seed)
        con = duckdb.connect(str(warehouse))
        try:
            rates = measure(con, ts, mode)
        finally:
            con.close()
        tenant_rates = measure_with_simulated_tenants_calendar(warehouse, ts, mode)
    print(f"history: {args.days} days, ~{args.events_per_day} ThoughtSpot events/day, seed {args.seed}")
    print("\nwith the default calendar (seeds/source_instance_calendars.csv: Mon-Fri 08-18 UTC):")
    print(render(rates, args.markdown))
    print(f"\nwith the simulated tenants' own calendar ({SIMULATED_CALENDAR_NOTE}), restated by an incremental build:")
    print(render(tenant_rates, args.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
