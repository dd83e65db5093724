"""Local simulators of the ThoughtSpot and Mode audit-log APIs, for the demo, the tests and the benchmarks.

    from pipelines.simulators import HistoryConfig, FaultPlan, SimClock, ThoughtSpotSimulator, ModeSimulator

    with ThoughtSpotSimulator(history=HistoryConfig(days=3)) as ts:
        ts.base_url, ts.username, ts.secret_key, ts.expected_event_ids()

They are real HTTP servers on 127.0.0.1 (stdlib, one background thread each), deterministic from a seed, with
documented behaviour where the vendors document none: see the module docstrings of thoughtspot_api.py and mode_api.py.
"""

from .clock import SimClock
from .event_vocabulary import MODE_ACTIONS, THOUGHTSPOT_EVENT_TYPES
from .faults import FaultPlan
from .history_primitives import HistoryConfig
from .mode_api import ModeSimulator
from .thoughtspot_api import ThoughtSpotSimulator

__all__ = [
    "HistoryConfig",
    "FaultPlan",
    "SimClock",
    "ThoughtSpotSimulator",
    "ModeSimulator",
    "THOUGHTSPOT_EVENT_TYPES",
    "MODE_ACTIONS",
]
