"""A third source that exists only for tests: registering it must be all it takes to be ingested, orchestrated
with its checks and reported by `status` (the registry's promise). It serves a static fixture of three events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import dlt
import pyarrow as pa

from pipelines.sources import raw_tables
from pipelines.sources.common.errors import SourceNotConfigured
from pipelines.sources.common.table_hints import emit
from pipelines.sources.common.window_report import WindowStats
from pipelines.sources.common.windows import Window
from pipelines.sources.registry import QUARANTINE_TABLE, WINDOWS_TABLE, SourceSpec

EVENTS_TABLE = "toy_events"
TOKEN_VARIABLE = "SOURCES__TOY__TOKEN"
EVENTS_SCHEMA = pa.schema(
    [("source_instance", pa.string()), ("id", pa.string()), ("at", raw_tables.TS_UTC), ("what", pa.string())]
)


def fixture_events(now: datetime) -> list[dict[str, Any]]:
    return [
        {"source_instance": "toy.local", "id": f"toy-{i}", "at": now - timedelta(hours=i), "what": "login"}
        for i in range(3)
    ]


@dlt.source(name="toy")
def toy_source(token: str | None = dlt.secrets.value, since: str | None = None, until: str | None = None) -> Any:
    if not token:
        raise SourceNotConfigured("toy", (TOKEN_VARIABLE,))

    def toy_events() -> Iterator[Any]:
        now = datetime.now(timezone.utc)
        events = pa.Table.from_pylist(fixture_events(now), schema=EVENTS_SCHEMA)
        window = Window(now - timedelta(days=1), now)
        stats = WindowStats("toy", "toy.local", window, fetched=events.num_rows, new_events=events.num_rows)
        yield emit(events, EVENTS_TABLE)
        yield emit(stats.table(now), WINDOWS_TABLE)
        stats.report()

    resource = dlt.resource(toy_events, name=EVENTS_TABLE)
    resource.apply_hints(
        table_name=EVENTS_TABLE,
        write_disposition={"disposition": "merge", "strategy": "insert-only"},
        primary_key=["source_instance", "id"],
        create_table_variant=True,
    )
    resource.apply_hints(table_name=WINDOWS_TABLE, write_disposition="append", create_table_variant=True)
    resource.apply_hints(table_name=QUARANTINE_TABLE, write_disposition="append", create_table_variant=True)
    return resource


TOY = SourceSpec(
    name="toy",
    title="Toy",
    description="A test-only source: three fixture events.",
    source_factory="tests.registry.toy_source:toy_source",
    dataset="raw_toy",
    events_table=EVENTS_TABLE,
    event_time_column="at",
    config_variables=(TOKEN_VARIABLE,),
    retention=None,
    max_window=timedelta(hours=24),
    feeds_dbt=False,
)

TOY_TOKEN = "toy-token-value"
