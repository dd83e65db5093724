"""Take docs/asset-graph.png: the Dagster UI's global asset lineage of auditlake, every group expanded.

One-off helper for the README (not part of the test suite). It needs Debian's chromium and node/npm:

    apt-get install -y chromium nodejs npm
    .venv/bin/python docs/take_screenshot.py            # records a small demo run first, so nodes show status
    .venv/bin/python docs/take_screenshot.py --no-demo  # definitions only ("Never materialized")

Steps: a throwaway DAGSTER_HOME and warehouse in a temp dir; optionally `auditlake demo` (small) recorded in
that instance; `dagster-webserver -w workspace.yaml` on a free loopback port; playwright-core (from npm,
driving /usr/bin/chromium, never downloading a browser) expands all groups, sizes the window so the whole
graph fits at a zoom where nodes show their full detail, and screenshots it; the server is then stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = REPO_ROOT / ".venv" / "bin"
PLAYWRIGHT_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "auditlake-screenshot"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Runs in node with playwright-core (which gives each launch a fresh, empty profile).
# argv: url, output png, chromium path, target zoom, chromium flags as JSON.
SHOOT_JS = r"""
import { chromium } from 'playwright-core';
const [url, out, executablePath, zoomArg, argsJson] = process.argv.slice(2);
const zoom = Number(zoomArg);
const browser = await chromium.launch({ executablePath, args: JSON.parse(argsJson) });
try {
  const context = await browser.newContext({ viewport: { width: 1800, height: 1100 } });
  // Skip the community pop-up; lay the graph out top-down (wide rather than tall).
  await context.addInitScript(() => {
    localStorage.setItem('communityNux', '"1"');
    localStorage.setItem('asset-graph-direction', '"vertical"');
  });
  const page = await context.newPage();
  const graph = () => page.locator('svg[class*="svgContainer"]').first();
  await page.goto(url + '/asset-groups', { waitUntil: 'networkidle' });
  await graph().waitFor();
  const hideNav = page.getByText('Hide navigation');
  if (await hideNav.isVisible()) await hideNav.click();
  // Expand every group from the graph background's context menu (top-left of the canvas is empty).
  const area = await graph().evaluate((svg) => { const r = svg.parentElement.getBoundingClientRect(); return { x: r.x, y: r.y }; });
  await page.mouse.click(area.x + 15, area.y + 15, { button: 'right' });
  await page.getByRole('menuitem', { name: /Expand all groups/ }).click();
  await page.waitForTimeout(1500);
  // Size the window so the whole graph fits at `zoom` (>= 0.6, where nodes switch to full detail).
  const size = await graph().evaluate((svg) => {
    const r = svg.parentElement.getBoundingClientRect();
    return { w: Number(svg.getAttribute('width')), h: Number(svg.getAttribute('height')), left: r.x, top: r.y };
  });
  const width = Math.ceil(size.left + size.w * zoom + 60), height = Math.ceil(size.top + size.h * zoom + 60);
  await page.setViewportSize({ width, height });
  await page.goto(page.url(), { waitUntil: 'networkidle' });  // re-fit the graph to the new window
  await page.getByText('published_warehouse', { exact: true }).first().waitFor();
  await page.waitForTimeout(4000);  // asset statuses and check results arrive after the layout
  const shown = await graph().evaluate((svg) => svg.getBoundingClientRect().width / Number(svg.getAttribute('width')));
  await page.screenshot({ path: out });
  console.log(JSON.stringify({ width, height, zoom: Number(shown.toFixed(3)), url: page.url() }));
} finally {
  await browser.close();
}
"""


def _env(home: Path, warehouse: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    env.update(
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DAGSTER_DISABLE_TELEMETRY="1",
        RUNTIME__DLTHUB_TELEMETRY="false",
        DAGSTER_HOME=str(home),
        AUDITLAKE_WAREHOUSE=str(warehouse),
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{url}/graphql", data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


def _wait_until_loaded(url: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    query = "{ locationStatusesOrError { ... on WorkspaceLocationStatusEntries { entries { loadStatus } } } }"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"dagster-webserver exited with {process.returncode}; its log:\n{log.read_text()[-3000:]}")
        try:
            entries = _graphql(url, query)["locationStatusesOrError"].get("entries") or []
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                return
        except OSError:
            pass
        time.sleep(1)
    sys.exit(f"dagster-webserver did not load the code location within {timeout:.0f} s; see {log}")


def _stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the webserver's process group, then wait for its code server to go too (SIGKILL after 30 s)."""

    def alive() -> bool:
        try:
            os.killpg(process.pid, 0)
            return True
        except ProcessLookupError:
            return False

    if alive():
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while alive() and time.monotonic() < deadline:
        process.poll()  # reap the webserver itself so the group can empty
        time.sleep(0.2)
    if alive():
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def _ensure_playwright() -> None:
    if (PLAYWRIGHT_DIR / "node_modules" / "playwright-core").exists():
        return
    PLAYWRIGHT_DIR.mkdir(parents=True, exist_ok=True)
    # playwright-core ships no browser and downloads none: it drives Debian's chromium.
    subprocess.run(
        ["npm", "install", "--prefix", str(PLAYWRIGHT_DIR), "--no-audit", "--no-fund", "playwright-core@1"], check=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO_ROOT / "docs" / "asset-graph.png"))
    parser.add_argument("--no-demo", action="store_true", help="Skip the demo run: nodes show 'Never materialized'.")
    parser.add_argument(
        "--zoom", type=float, default=0.66, help="Graph zoom in the shot (>= 0.6 for full node detail)."
    )
    args = parser.parse_args()

    chromium = shutil.which("chromium") or sys.exit("chromium not found: apt-get install -y chromium")
    if not (shutil.which("node") and shutil.which("npm")):
        sys.exit("node/npm not found: apt-get install -y nodejs npm")
    _ensure_playwright()

    with tempfile.TemporaryDirectory(prefix="auditlake-shot-") as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "dagster_home"
        home.mkdir()
        shutil.copy(REPO_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
        env = _env(home, tmp / "demo" / "auditlake.duckdb")
        if not args.no_demo:
            demo = [
                str(VENV_BIN / "auditlake"),
                "demo",
                "--warehouse",
                env["AUDITLAKE_WAREHOUSE"],
                "--days",
                "5",
                "--events-per-day",
                "100",
            ]
            subprocess.run(demo, cwd=REPO_ROOT, env=env, check=True, stdout=subprocess.DEVNULL)

        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        log = tmp / "webserver.log"
        with log.open("wb") as log_file:
            server = subprocess.Popen(
                [str(VENV_BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: SIGTERM reaches the code server too
            )
        try:
            _wait_until_loaded(url, server, log)
            script = PLAYWRIGHT_DIR / "shoot.mjs"  # next to node_modules so the import resolves
            script.write_text(SHOOT_JS)
            subprocess.run(
                [
                    "node",
                    str(script),
                    url,
                    str(Path(args.out).resolve()),
                    chromium,
                    str(args.zoom),
                    json.dumps(CHROMIUM_ARGS),
                ],
                check=True,
            )
        finally:
            _stop_group(server)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
