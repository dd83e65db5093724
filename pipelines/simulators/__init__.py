"""Local simulators of the ThoughtSpot and Mode audit-log APIs, for the demo, the tests and the benchmarks.

    from pipelines.simulators import HistoryConfig, FaultPlan, SimClock, ThoughtSpotSimulator, ModeSimulator

    with ThoughtSpotSimulator(history=HistoryConfig(days=3)) as ts:
        ts.base_url, ts.username, ts.secret_key, ts.expected_event_ids()

They are real HTTP servers on 127.0.0.1 (stdlib, one background thread each), deterministic from a seed, with
documented behaviour where the vendors document none: see the module docstrings of thoughtspot.py and mode.py.
"""

from .clock import SimClock
from .events import MODE_ACTIONS, THOUGHTSPOT_EVENT_TYPES, HistoryConfig
from .faults import FaultPlan
from .mode import ModeSimulator
from .thoughtspot import ThoughtSpotSimulator

__all__ = [
    "HistoryConfig", "FaultPlan", "SimClock", "ThoughtSpotSimulator", "ModeSimulator",
    "THOUGHTSPOT_EVENT_TYPES", "MODE_ACTIONS",
]
