"""SIGKILL of the receiver mid-stream with senders that retry: every acknowledged event in raw exactly once,
beside the pulled ones (an event both pushed and pulled is stored once, marked with the path that came first)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import orjson

from pipelines.ingest_runner import run_ingest
from pipelines.receiver.push_drain import drain_push_spool
from pipelines.receiver.spool_segments import SpoolWriter, encode_frame, read_frames
from pipelines.simulators import ThoughtSpotSimulator
from pipelines.simulators.thoughtspot_pusher import ThoughtSpotPusher
from tests.ingest.conftest import history, only, point_at_thoughtspot, rows
from tests.receiver.conftest import TOKEN

EVENTS = "raw_thoughtspot.security_audit_events"


def test_kill_9_mid_stream_loses_no_acknowledged_event_and_duplicates_none(start_receiver, warehouse, monkeypatch):
    with ThoughtSpotSimulator(history=history(days=2, per_day=300, hours_ago=1), late_minutes=0) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        receiver = start_receiver(base_url=sim.base_url)
        end = sim.clock.now()
        middle = end - timedelta(days=1)
        # Two senders at once, as Fluent Bit's two workers: HEC (gzip) over the first day, plain HTTP the second.
        hec = ThoughtSpotPusher(sim, receiver.url, TOKEN, "hec", compress=True, max_batch_records=4, timeout_seconds=3)
        plain = ThoughtSpotPusher(sim, receiver.url, TOKEN, "http", compress=False, max_batch_records=4)
        senders = [
            threading.Thread(target=hec.push_range, args=(end - timedelta(days=3), middle)),
            threading.Thread(target=plain.push_range, args=(middle + timedelta(microseconds=1), end)),
        ]
        for sender in senders:
            sender.start()
        deadline = time.monotonic() + 60
        while hec.stats.batches + plain.stats.batches < 30 and time.monotonic() < deadline:
            time.sleep(0.01)
        receiver.kill()  # mid-stream: both senders have batches in flight
        acknowledged_before_kill = hec.stats.batches + plain.stats.batches
        time.sleep(1.0)  # senders see refused connections and keep retrying
        start_receiver(base_url=sim.base_url, port=receiver.port)
        for sender in senders:
            sender.join(timeout=120)
            assert not sender.is_alive()
        assert 30 <= acknowledged_before_kill < hec.stats.batches + plain.stats.batches
        assert hec.stats.retries + plain.stats.retries > 0  # the kill was felt
        assert not hec.stats.dropped_batches and not plain.stats.dropped_batches
        acknowledged = hec.stats.acknowledged_ids | plain.stats.acknowledged_ids

        start_receiver.stop_all()  # seals the open segment so the drain takes everything
        drained = drain_push_spool(progress=lambda _: None, folder=receiver.spool)
        assert drained.error is None, drained.error
        assert not list(receiver.spool.glob("seg-*.spool"))
        pushed = rows(warehouse, f"select id from {EVENTS} where _auditlake_delivery = 'push'")
        assert len(pushed) == len({i for (i,) in pushed}) and acknowledged <= {i for (i,) in pushed}

        # The pull reads the same 2 days plus events made since: each event once, pushed ones kept as pushed.
        sim.add_events(7, end + timedelta(seconds=1), end + timedelta(minutes=5))
        sim.clock.advance(timedelta(minutes=10))
        pulled = only(run_ingest(["thoughtspot"], progress=lambda _: None, until=sim.clock.now().isoformat()))
        assert pulled.error is None, pulled.error
        stored = dict(rows(warehouse, f"select id, _auditlake_delivery from {EVENTS}"))
        assert rows(warehouse, f"select count(*) from {EVENTS}")[0][0] == len(stored)  # exactly once
        assert set(stored) == sim.expected_event_ids()
        assert all(stored[i] == "push" for i in acknowledged)
        assert sum(1 for d in stored.values() if d == "pull") >= 7

        # The push of events the pull already has (a late sender): absorbed, still marked as pulled first.
        again = start_receiver(base_url=sim.base_url)
        late = ThoughtSpotPusher(sim, again.url, TOKEN, "hec")
        assert late.push_range(end + timedelta(seconds=1), sim.clock.now()) == 7 and late.stats.batches == 1
        again.stop()
        drained = drain_push_spool(progress=lambda _: None, folder=again.spool)
        assert (drained.error, drained.events, drained.new_events) == (None, 7, 0)
        assert dict(rows(warehouse, f"select id, _auditlake_delivery from {EVENTS}")) == stored
        # Coverage is the pull's alone: no ingest_windows row comes from the push.
        assert rows(warehouse, "select count(*) from raw_thoughtspot.ingest_windows")[0][0] == pulled.windows


def test_a_torn_last_frame_is_ignored_and_frames_before_it_are_kept(tmp_path):
    writer = SpoolWriter(tmp_path, max_bytes=10**9)
    futures = [
        writer.submit({"instance": "a", "received_at": "2026-12-01T00:00:00Z", "n": n}, b"[%d]" % n) for n in range(3)
    ]
    for future in futures:
        future.result(timeout=10)
    writer.close()
    (segment,) = tmp_path.glob("seg-*.spool")
    whole = segment.read_bytes()
    frames, torn = read_frames(whole)
    assert [orjson.loads(f.body) for f in frames] == [[0], [1], [2]] and torn == 0
    partial = encode_frame({"instance": "a", "received_at": "x"}, b"[3]")
    for cut in (1, 10, len(partial) - 1):
        frames, torn = read_frames(whole + partial[:cut])
        assert len(frames) == 3 and torn == cut
    corrupted = whole[:-1] + bytes([whole[-1] ^ 1])
    frames, torn = read_frames(corrupted)
    assert len(frames) == 2 and torn > 0
