# Two commands do all set-up on a fresh machine:  `make demo`  and  `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)
export DBT_SEND_ANONYMOUS_USAGE_STATS ?= false
export DAGSTER_DISABLE_TELEMETRY ?= 1
export RUNTIME__DLTHUB_TELEMETRY ?= false
export DAGSTER_HOME ?= $(CURDIR)/dagster_home

.PHONY: setup demo run test lint snapshot bench ui clean

setup: $(VENV)/.installed

# uv (from PyPI) installs the pinned set in seconds; pip would take over a minute.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv
	$(VENV)/bin/uv pip install --quiet --python $(PY) -e ".[dev]"
	@mkdir -p $(DAGSTER_HOME)
	@touch $@

demo: setup
	$(VENV)/bin/auditlake demo

run: setup
	$(VENV)/bin/auditlake run

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

# After an intended change to the Dagster graph: rewrite tests/orchestration/snapshots/asset_graph.json.
snapshot: setup
	UPDATE_SNAPSHOTS=1 $(PY) -m pytest -q tests/orchestration/test_graph_snapshot.py

bench: setup
	$(PY) bench/bench_ingest.py
	$(PY) bench/bench_dbt.py

ui: setup
	$(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

clean:
	rm -rf warehouse dbt_project/target dbt_project/logs
