"""Window planning and a run's bounds (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from pipelines.sources.common.errors import SourceError
from pipelines.sources.common.windows import (
    RunBounds,
    Window,
    as_utc,
    check_reread_range,
    iso_z,
    parse_bound,
    plan_windows,
    to_epoch_ms,
)

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def test_windows_cover_the_range_sharing_boundaries():
    windows = plan_windows(T0, T0 + timedelta(hours=50))
    assert [w.end - w.start for w in windows] == [timedelta(hours=24), timedelta(hours=24), timedelta(hours=2)]
    assert windows[0].start == T0 and windows[-1].end == T0 + timedelta(hours=50)
    assert all(a.end == b.start for a, b in zip(windows, windows[1:]))
    assert plan_windows(T0, T0) == []
    assert plan_windows(T0, T0 + timedelta(hours=1), timedelta(minutes=15))[-1] == Window(
        T0 + timedelta(minutes=45), T0 + timedelta(hours=1)
    )


def test_utc_conversions():
    assert as_utc("2026-11-01T01:00:00+01:00") == T0
    assert as_utc(datetime(2026, 11, 1)) == T0
    assert as_utc(None) is None
    assert iso_z(T0) == "2026-11-01T00:00:00.000000Z"
    assert to_epoch_ms(T0 + timedelta(microseconds=1500)) == 1_793_491_200_001


def test_bad_bound_names_the_argument():
    with pytest.raises(SourceError, match="^since: 'last tuesday' is not an ISO-8601"):
        parse_bound("last tuesday", "since")


def test_reread_range_refusals():
    now = T0 + timedelta(days=40)
    with pytest.raises(SourceError, match="after until"):
        check_reread_range("X", T0 + timedelta(days=2), T0 + timedelta(days=1), now, None)
    with pytest.raises(SourceError, match="30-day retention"):
        check_reread_range("X", T0, None, now, timedelta(days=30))
    check_reread_range("X", T0, None, now, None)  # no retention: any past date


def test_run_bounds_parse():
    bounds = RunBounds.parse("Mode", 30, "SOURCES__MODE__OVERLAP_MINUTES", "2026-11-01", None, None, None)
    assert bounds == RunBounds(timedelta(minutes=30), T0, None, None)
    with pytest.raises(SourceError, match="SOURCES__MODE__OVERLAP_MINUTES must be zero or positive"):
        RunBounds.parse("Mode", -1, "SOURCES__MODE__OVERLAP_MINUTES", None, None, None, None)


def test_partial_configuration_names_only_what_is_missing():
    from pipelines.sources.common.errors import SourceNotConfigured, require_configuration

    with pytest.raises(SourceNotConfigured) as skipped:
        require_configuration("mode", {"A": None, "B": ""})
    assert skipped.value.variables == ("A", "B")
    with pytest.raises(SourceNotConfigured) as partly:
        require_configuration("mode", {"A": "x", "B (or C)": None, "D": "y"})
    assert str(partly.value) == "mode: not configured, skipped (set B (or C))"
    require_configuration("mode", {"A": "x"})
