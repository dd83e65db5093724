"""The whole Dagster graph as reviewable text: keys, groups, deps, checks, jobs, schedules.

A change to the graph shows up as a diff of tests/orchestration/snapshots/asset_graph.json.
After an intended change, update it with one command:  make snapshot
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pipelines.definitions import defs

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def describe_graph() -> dict[str, Any]:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(parent.to_user_string() for parent in node.parent_keys),
            "checks": sorted(check.name for check in graph.asset_check_keys if check.asset_key == key),
        }
    jobs = {
        job.name: {
            "tags": dict(sorted(job.tags.items())),
            "ops": sorted(node.name for node in defs.resolve_job_def(job.name).graph.node_defs),
        }
        for job in sorted(defs.jobs or [], key=lambda j: j.name)
    }
    schedules = {
        schedule.name: {
            "job": schedule.job_name,
            "cron": schedule.cron_schedule,
            "timezone": schedule.execution_timezone,
        }
        for schedule in sorted(defs.schedules or [], key=lambda s: s.name)
    }
    return {"assets": assets, "jobs": jobs, "schedules": schedules}


def test_asset_graph_matches_snapshot() -> None:
    current = json.dumps(describe_graph(), indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(current)
    assert current == SNAPSHOT.read_text(), "the asset graph changed: review the diff, then run `make snapshot`"
