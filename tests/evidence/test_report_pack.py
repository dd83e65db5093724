"""`auditlake report` on a demo-like warehouse (both simulators, planted scenarios, real ingest and dbt): the
manifest's sums, the PDF's text (planted findings, control ids, page furniture), the CSVs against the marts, the
HTML self-contained, empty sections said, and a headless-Chromium screenshot when Chromium is installed."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from pipelines import cli
from pipelines.evidence.pack_sections import SECTIONS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pack(demo_warehouse, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, date, date]:
    end = datetime.now(timezone.utc).date()
    start = end - timedelta(days=9)
    out = tmp_path_factory.mktemp("pack") / "march"
    code = cli.main(
        ["report", "--from", start.isoformat(), "--to", end.isoformat(), "--out", str(out),
         "--warehouse", str(demo_warehouse.path)]
    )  # fmt: skip
    assert code == 0
    return out, start, end


def pdf_pages(path: Path) -> list[str]:
    """The PDF's text per page: poppler's pdftotext when installed (`make system-deps`), else pypdf."""
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True)
        return text.stdout.split("\f")[:-1]
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(str(path)).pages]


def _q(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_manifest_sums_every_file_and_states_provenance(pack) -> None:
    out, start, end = pack
    manifest = json.loads((out / "manifest.json").read_text())
    on_disk = {p.name for p in out.iterdir() if p.is_file()} - {"manifest.json"}
    assert set(manifest["files"]) == on_disk
    assert {"index.html", "evidence.pdf"} <= on_disk
    assert len([n for n in on_disk if n.endswith(".csv")]) >= len(SECTIONS)
    for name, entry in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == entry["sha256"], name
    assert manifest["period"]["start"] == start.isoformat() and manifest["period"]["end"] == end.isoformat()
    assert manifest["auditlake_version"] not in ("", None)
    loads = manifest["warehouse"]["dlt_loads"]
    assert loads["raw_thoughtspot"]["load_ids"] and loads["raw_mode"]["last_load_id"]
    chain = manifest["integrity_chain"]
    assert chain["verified"] is True and chain["problems"] == []
    # one status per source instance and day of the period that has events; closed days are sealed
    days = chain["days"]
    assert {d["source_system"] for d in days} == {"thoughtspot", "mode"}
    assert all(start.isoformat() <= d["date"] <= end.isoformat() for d in days)
    assert {d["chain_status"] for d in days} <= {"sealed", "not sealed", "broken"}
    assert sum(d["chain_status"] == "sealed" for d in days) >= 8


def test_a_changed_file_no_longer_matches_its_sum(pack, tmp_path: Path) -> None:
    out, _, _ = pack
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    csv = next(copy.glob("*privileged_changes.csv"))
    csv.write_text(csv.read_text().replace("thoughtspot", "thoughtsp0t", 1))
    manifest = json.loads((copy / "manifest.json").read_text())
    mismatched = [
        name for name, entry in manifest["files"].items()
        if hashlib.sha256((copy / name).read_bytes()).hexdigest() != entry["sha256"]
    ]  # fmt: skip
    assert mismatched == [csv.name]


def test_pdf_names_the_planted_findings_controls_period_and_pages(pack, demo_warehouse) -> None:
    out, start, end = pack
    pages = pdf_pages(out / "evidence.pdf")
    assert len(pages) > 5
    text = "\n".join(pages)
    flat = " ".join(text.split())
    ts, mode = demo_warehouse.thoughtspot.scenarios, demo_warehouse.mode.scenarios
    for planted in (
        ts["brute_force"]["user_name"],
        ts["brute_force"]["ip"],
        ts["self_grant"]["user_name"],
        ts["deleted_user_activity"]["user_name"],
        ts["account_locked"]["user_name"],
        mode["leaver_activity"]["username"],
    ):
        assert planted in flat, planted
    for control in ("SOC 2 CC6.1", "SOC 2 CC6.2", "SOC 2 CC6.3", "SOC 2 CC7.2", "ISO 27001 A.5.15", "ISO 27001 A.8.15",
                    "ISO 27001 A.8.16", "PCI DSS 10.2.1.4", "PCI DSS 10.3", "PCI DSS 10.5"):  # fmt: skip
        assert control in flat, control
    period = f"period {start.isoformat()} to {end.isoformat()}"
    for number, page in enumerate(pages, 1):
        page_flat = " ".join(page.split())
        assert f"page {number} of {len(pages)}" in page_flat, number
        assert period in page_flat, number
        assert re.search(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC", page_flat), number
    # the SQL appendix
    assert "from compliance.rpt_privileged_changes" in flat


def test_csvs_hold_exactly_the_marts_rows(pack, demo_warehouse) -> None:
    out, start, end = pack
    manifest = json.loads((out / "manifest.json").read_text())
    privileged = (out / manifest["sections"]["privileged_changes"]["csv"]).read_text().splitlines()
    expected = _q(
        demo_warehouse.path,
        "select event_key from compliance.rpt_privileged_changes where cast(event_time as date) between ? and ?",
        [start, end],
    )
    header = privileged[0].split(",")
    keys = {line.split(",")[header.index("event_key")] for line in privileged[1:]}
    assert len(privileged) - 1 == len(expected) > 0
    assert keys == {r[0] for r in expected}
    findings = (out / manifest["sections"]["findings"]["csv"]).read_text()
    for (key,) in _q(demo_warehouse.path, "select finding_key from compliance.findings where time_bucket <> 'state'"):
        assert key in findings


def test_html_is_self_contained_and_shows_every_section(pack) -> None:
    out, _, _ = pack
    html = (out / "index.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(http" not in html
    assert html.count("<svg") >= 3
    for section in SECTIONS:
        assert f'id="{section.key}"' in html and section.title in html
    assert html.count("<details>") >= len(SECTIONS)
    for kind in ("brute_force_by_user", "self_grant", "activity_after_deletion", "account_lockout"):
        assert f"<td>{kind}</td>" in html, kind
    assert "select " in html and "$period_start" in html


def test_an_empty_period_says_no_events_in_every_section(demo_warehouse, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    assert cli.main(["report", "--from", "2020-01-01", "--to", "2020-01-03", "--out", str(out),
                     "--warehouse", str(demo_warehouse.path)]) == 0  # fmt: skip
    html = (out / "index.html").read_text()
    # the access review reads the state now, not the period: every other section is empty
    assert html.count("No events in this period.") >= len(SECTIONS) - 1
    flat = " ".join("\n".join(pdf_pages(out / "evidence.pdf")).split())
    assert "No events in this period." in flat


def test_reversed_period_is_refused(demo_warehouse) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["report", "--from", "2026-02-02", "--to", "2026-02-01", "--warehouse", str(demo_warehouse.path)])
    assert exit_info.value.code == 2


@pytest.mark.skipif(not shutil.which("chromium"), reason="Chromium not installed (`make system-deps` installs it)")
def test_headless_chromium_renders_the_pack_at_1280px(pack) -> None:
    from PIL import Image

    out, _, _ = pack
    png = out.parent / "index-1280.png"
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,1800",
         f"--screenshot={png}", (out / "index.html").as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    image = Image.open(png)
    assert image.size == (1280, 1800)
    # a rendered page, not a blank one: many distinct colours (text, badges, chart)
    assert len(image.convert("RGB").getcolors(maxcolors=1 << 16) or []) > 50


def test_findings_command_lists_the_open_findings(demo_warehouse, capsys) -> None:
    assert cli.main(["findings", "--warehouse", str(demo_warehouse.path)]) == 0
    out = capsys.readouterr().out
    brute = demo_warehouse.thoughtspot.scenarios["brute_force"]
    assert "severity" in out.splitlines()[0] and "brute_force_by_user" in out and brute["user_name"] in out
    assert cli.main(["findings", "--warehouse", str(demo_warehouse.path), "--min-severity", "critical"]) == 0
    critical = capsys.readouterr().out
    assert "self_grant" in critical and "brute_force_by_user" not in critical


def test_findings_command_shows_the_configured_severity_not_the_seeds(demo_warehouse, capsys, monkeypatch) -> None:
    # the seed says self_grant critical and brute_force_by_user high; an operator's overrides turn them round, as
    # alerts would send them
    monkeypatch.setenv("AUDITLAKE_ALERT_SEVERITY__SELF_GRANT", "low")
    monkeypatch.setenv("AUDITLAKE_ALERT_SEVERITY__BRUTE_FORCE_BY_USER", "critical")
    assert cli.main(["findings", "--warehouse", str(demo_warehouse.path), "--min-severity", "critical"]) == 0
    critical = capsys.readouterr().out
    assert "brute_force_by_user" in critical and "self_grant" not in critical
    assert "severity as configured for brute_force_by_user" in critical
    assert cli.main(["findings", "--warehouse", str(demo_warehouse.path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines[2:] if line.strip() and not line.startswith(("-", " "))]
    rows = [row for row in rows if row[0] in ("info", "low", "medium", "high", "critical")]
    self_grants = [row for row in rows if row[1] == "self_grant"]
    assert self_grants and all(row[0] == "low" for row in self_grants), self_grants
    assert ["critical", "brute_force_by_user"] in [row[:2] for row in rows], [row[:2] for row in rows]
    # most severe first, by the effective severity
    ranks = [("info", "low", "medium", "high", "critical").index(row[0]) for row in rows]
    assert ranks == sorted(ranks, reverse=True), [row[:2] for row in rows]
