"""`auditlake report`: the evidence pack for a period (index.html, evidence.pdf, one CSV per section, manifest.json)."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from pipelines import settings


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date: use YYYY-MM-DD (a UTC day)") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="start", type=_day, help="First UTC day of the period (default: last month's)")
    parser.add_argument("--to", dest="end", type=_day, help="Last UTC day of the period, inclusive")
    parser.add_argument(
        "--out", type=Path, help="Folder to write the pack into (default: warehouse/evidence/<from>_<to>/)"
    )
    parser.add_argument(
        "--warehouse", type=Path, help="DuckDB file to read (default: AUDITLAKE_WAREHOUSE; its published copy if busy)"
    )


def default_out(start: date, end: date) -> Path:
    return settings.warehouse_path().parent / "evidence" / f"{start.isoformat()}_{end.isoformat()}"


def main(args: argparse.Namespace) -> int:
    from pipelines.evidence.pack_builder import build_pack, last_month

    if (args.start is None) != (args.end is None):
        args._parser.error("give both --from and --to (or neither, for last month)")
    start, end = (args.start, args.end) if args.start else last_month(settings.utc_now().date())
    if end < start:
        args._parser.error(f"--to {end} is before --from {start}")
    out = (args.out or default_out(start, end)).expanduser().resolve()
    warehouse = args.warehouse.expanduser().resolve() if args.warehouse else None
    result = build_pack(start, end, out, warehouse=warehouse)
    chain = "verified" if result.chain_verified else "BROKEN (see manifest.json integrity_chain.problems)"
    print(
        f"evidence pack {start} to {end}: {result.findings} findings, "
        f"{result.days_complete}/{result.days} instance-days complete, hash chain {chain}"
    )
    print(f"  {out / 'index.html'}\n  {out / 'evidence.pdf'}\n  {out / 'manifest.json'}  ({len(result.files)} files)")
    return 0
