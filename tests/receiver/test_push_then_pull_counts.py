"""An incremental pull after the push delivered events first: its ingest_windows rows count as new only the rows
this load inserted; the pushed-first ones are duplicates the merge absorbed (fetched = new + duplicates +
quarantined)."""

from __future__ import annotations

from datetime import timedelta

from pipelines.ingest_runner import run_ingest
from pipelines.receiver.push_drain import drain_push_spool
from pipelines.simulators import ThoughtSpotSimulator
from pipelines.simulators.thoughtspot_pusher import ThoughtSpotPusher
from tests.ingest.conftest import history, only, point_at_thoughtspot, rows
from tests.receiver.conftest import TOKEN

EVENTS = "raw_thoughtspot.security_audit_events"
WINDOWS = "raw_thoughtspot.ingest_windows"


def _window_totals(warehouse, since_fetch: int) -> tuple[int, int, int, int]:
    """fetched, new_events, duplicates and unreconciled windows over the ingest_windows rows after the first
    `since_fetch`."""
    found = rows(
        warehouse,
        f"select fetched, new_events, duplicates, quarantined from {WINDOWS} order by fetched_at, window_start "
        f"offset {since_fetch}",
    )
    unreconciled = sum(1 for fetched, new, dup, quarantined in found if fetched != new + dup + quarantined)
    return (sum(r[0] for r in found), sum(r[1] for r in found), sum(r[2] for r in found), unreconciled)


def test_incremental_pull_counts_pushed_first_events_as_duplicates_not_new(start_receiver, warehouse, monkeypatch):
    with ThoughtSpotSimulator(history=history(days=1, per_day=120, hours_ago=1), late_minutes=0) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        receiver = start_receiver(base_url=sim.base_url)
        end = sim.clock.now()
        pusher = ThoughtSpotPusher(sim, receiver.url, TOKEN, "hec", compress=True, max_batch_records=20)

        # First pull: the push brought the last 6 hours before it ran.
        pushed = pusher.push_range(end - timedelta(hours=6), end)
        receiver.stop()
        assert drain_push_spool(progress=lambda _: None, folder=receiver.spool).new_events == pushed > 0
        first = only(run_ingest(["thoughtspot"], progress=lambda _: None, until=end.isoformat()))
        assert first.error is None, first.error
        delivered = dict(rows(warehouse, f"select _auditlake_delivery, count(*) from {EVENTS} group by all"))
        assert delivered["push"] == pushed
        fetched, new, duplicates, unreconciled = _window_totals(warehouse, 0)
        assert new == delivered["pull"] == first.new_events  # inserted by this load only
        assert duplicates >= pushed and unreconciled == 0 and fetched == new + duplicates
        windows_after_first = rows(warehouse, f"select count(*) from {WINDOWS}")[0][0]

        # Second, incremental pull (saved cursor and overlap ids): new events, most of them pushed first.
        sim.add_events(30, end + timedelta(seconds=1), end + timedelta(minutes=20))
        sim.clock.advance(timedelta(minutes=30))
        again = start_receiver(base_url=sim.base_url)
        late_pusher = ThoughtSpotPusher(sim, again.url, TOKEN, "http", compress=False, max_batch_records=10)
        pushed_again = late_pusher.push_range(end + timedelta(seconds=1), end + timedelta(minutes=12))
        again.stop()
        assert drain_push_spool(progress=lambda _: None, folder=again.spool).new_events == pushed_again > 0
        second = only(run_ingest(["thoughtspot"], progress=lambda _: None, until=sim.clock.now().isoformat()))
        assert second.error is None, second.error
        fetched, new, duplicates, unreconciled = _window_totals(warehouse, windows_after_first)
        pulled_now = rows(
            warehouse,
            f"select count(*) from {EVENTS} where _auditlake_delivery = 'pull' and _loaded_at > "
            f"(select max(_loaded_at) from {EVENTS} where _auditlake_delivery = 'push')",
        )[0][0]
        assert new == second.new_events == 30 - pushed_again == pulled_now
        assert duplicates >= pushed_again and unreconciled == 0 and fetched == new + duplicates
        assert rows(warehouse, f"select count(*) - count(distinct id) from {EVENTS}")[0][0] == 0
        assert {i for (i,) in rows(warehouse, f"select id from {EVENTS}")} == sim.expected_event_ids()
