# Two commands do all set-up on a fresh machine:  `make demo`  and  `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)
export DBT_SEND_ANONYMOUS_USAGE_STATS ?= false
export DAGSTER_DISABLE_TELEMETRY ?= 1
export RUNTIME__DLTHUB_TELEMETRY ?= false
export DAGSTER_HOME ?= $(CURDIR)/dagster_home

.PHONY: setup system-deps demo run test lint snapshot bench ui clean

setup: $(VENV)/.installed

# uv (from PyPI) installs exactly what uv.lock pins, in seconds; pip would take over a minute.
# After changing dependencies in pyproject.toml: `.venv/bin/uv lock` and commit uv.lock.
# --compile-bytecode, as pip does: without .pyc files every command compiles dlt, dagster... again (~7 s of start-up
# where PYTHONDONTWRITEBYTECODE is set, as on shared machines).
$(VENV)/.installed: pyproject.toml uv.lock
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv
	UV_PROJECT_ENVIRONMENT=$(VENV) $(VENV)/bin/uv sync --quiet --frozen --extra dev --compile-bytecode
	@mkdir -p $(DAGSTER_HOME)
	@touch $@

demo: setup
	$(VENV)/bin/auditlake demo

run: setup
	$(VENV)/bin/auditlake run

# The README's test command (what .ci/run calls): the linters first (seconds), then every test, on both cores
# (pytest-xdist; the dbt manifest every worker reads is parsed once first). PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2
test: lint system-deps
	$(PY) -c "from pipelines.orchestration.dbt_manifest import ensure_manifest; ensure_manifest()"
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# OS packages the evidence-pack tests use when present: poppler-utils (pdftotext, pdftoppm) and Chromium (the
# headless screenshot). Idempotent: apt runs only when one is missing, and only as root; otherwise the tests fall back
# to pypdf and skip the screenshot (said in their output). WeasyPrint itself needs only pango, present on Debian.
system-deps:
	@if command -v pdftotext >/dev/null && command -v chromium >/dev/null; then \
		echo "system-deps: poppler-utils and chromium present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			poppler-utils chromium >/dev/null) \
			|| echo "system-deps: apt-get failed; PDF tests use pypdf, the screenshot test is skipped"; \
	else \
		echo "system-deps: not root / no apt-get: PDF tests use pypdf, the screenshot test is skipped"; \
	fi

# Style, types and SQL: fast (seconds), run by .ci/run before the tests and by pre-commit.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/sqlfluff lint dbt_project --processes 2

# After an intended change to the Dagster graph: rewrite tests/orchestration/snapshots/asset_graph.json.
snapshot: setup
	UPDATE_SNAPSHOTS=1 $(PY) -m pytest -q tests/orchestration/test_graph_snapshot.py

bench: setup
	$(PY) bench/bench_ingest.py
	$(PY) bench/bench_dbt.py
	$(PY) bench/bench_publish.py
	$(PY) bench/bench_scheduled_run.py

ui: setup
	$(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

clean:
	rm -rf warehouse dbt_project/target dbt_project/logs
