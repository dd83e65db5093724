"""The Dagster side of the push: the minute sensor sees only sealed segments; the drain_push job loads them."""

from __future__ import annotations

import json

import dagster as dg

from pipelines.orchestration.push_drain_job import drain_push_job, push_spool_sensor
from pipelines.receiver.spool_segments import SpoolWriter, spool_dir
from tests.ingest.conftest import rows


def _body(n: int) -> bytes:
    event = {"id": f"TS-job-{n}", "ts": "2026-11-30T10:00:00Z", "type": "LOGIN_SUCCESSFUL", "orgId": 0}
    return json.dumps([{"date": "2026-11-30T10:00:01.000000Z", "log": json.dumps(event)}]).encode()


def test_sensor_waits_for_sealed_segments_and_the_job_drains_them(warehouse):
    folder = spool_dir()
    assert str(folder).startswith(str(warehouse.parent.parent))  # in the test's project home
    writer = SpoolWriter(folder, max_bytes=10**9)
    header = {"instance": "acme.thoughtspot.cloud", "received_at": "2026-11-30T10:00:02.000000Z", "route": "plain"}
    writer.submit(header, _body(1)).result(timeout=10)
    # The receiver still appends to that segment: nothing to launch yet.
    assert isinstance(push_spool_sensor(dg.build_sensor_context()), dg.SkipReason)
    writer.submit(header, _body(2)).result(timeout=10)
    writer.close()  # sealed
    result = push_spool_sensor(dg.build_sensor_context())
    assert isinstance(result, dg.SensorResult) and len(result.run_requests or []) == 1

    run = drain_push_job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert run.success and run.output_for_node("drain_push_spool") == 2
    assert rows(warehouse, "select id, _auditlake_delivery from raw_thoughtspot.security_audit_events order by id") == [
        ("TS-job-1", "push"),
        ("TS-job-2", "push"),
    ]
    assert isinstance(push_spool_sensor(dg.build_sensor_context()), dg.SkipReason)  # drained: nothing left
