"""The day's account of a camera: a Shanghai day runs from 16:00 UTC to 16:00 UTC, segments and
gaps are clipped to it, a fault's repair time runs across days (an open one counts to now)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from custos.domain.accounting import CameraFault, FaultKind, account_day, day_bounds
from custos.domain.recording import Gap, OfflineReason, Segment

DAY = date(2026, 11, 21)  # Shanghai; 2026-11-20 16:00 UTC to 2026-11-21 16:00 UTC
MIDNIGHT = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


def _seg(start: datetime, seconds: int, seq: int = 0) -> Segment:
    end = start + timedelta(seconds=seconds)
    return Segment(None, 1, "run", seq, f"1/run/{seq}.mp4", start, end, float(seconds), 1, "0" * 64,
                   "h264", None, None, end)  # fmt: skip


def test_a_shanghai_day_begins_at_16_utc_the_day_before() -> None:
    lo, hi = day_bounds(DAY)
    assert lo == MIDNIGHT and hi - lo == timedelta(hours=24)


def test_segments_and_gaps_across_shanghai_midnight_are_split_between_the_two_days() -> None:
    segments = [_seg(MIDNIGHT - timedelta(seconds=30), 60, 0),  # 30 s each side of midnight
                _seg(MIDNIGHT + timedelta(seconds=30), 60, 1),  # overlaps the first by nothing
                _seg(MIDNIGHT + timedelta(seconds=60), 60, 2)]  # overlaps the second: once  # fmt: skip
    gap = Gap(None, 1, MIDNIGHT - timedelta(minutes=10), MIDNIGHT - timedelta(seconds=30),
              OfflineReason.UNREACHABLE, "connection refused")  # fmt: skip
    now = MIDNIGHT + timedelta(days=2)
    before = account_day(1, DAY - timedelta(days=1), segments, [gap], [], now, 24)
    after = account_day(1, DAY, segments, [gap], [], now, 24)
    assert before.recorded_s == 30 and after.recorded_s == 30 + 90
    assert [g.seconds for g in before.gaps] == [570] and after.gaps == []
    assert before.gaps[0].reason == "unreachable" and not before.gaps[0].ongoing


def test_a_fault_across_midnight_counts_its_whole_repair_time_and_its_share_of_each_day() -> None:
    fault = CameraFault(7, 1, FaultKind.OFFLINE, MIDNIGHT - timedelta(hours=2),
                        MIDNIGHT + timedelta(hours=1), "unreachable")  # fmt: skip
    now = MIDNIGHT + timedelta(hours=5)
    first = account_day(1, DAY - timedelta(days=1), [], [], [fault], now, 24)
    second = account_day(1, DAY, [], [], [fault], now, 24)
    assert [f.in_day_s for f in first.faults] == [7200] and [f.in_day_s for f in second.faults] == [
        3600
    ]
    assert second.faults[0].fault.repair_time(now) == timedelta(hours=3)
    assert not second.faults[0].overdue
    assert second.day_s == 5 * 3600  # today counts to now


def test_an_open_fault_counts_to_now_and_is_overdue_past_the_deadline() -> None:
    fault = CameraFault(7, 1, FaultKind.GAP, MIDNIGHT, None, "no_segment")
    now = MIDNIGHT + timedelta(hours=25)
    gap = Gap(None, 1, MIDNIGHT, None, OfflineReason.STALLED)
    [slice_] = account_day(1, DAY, [], [], [fault], now, 24).faults
    assert slice_.overdue and slice_.in_day_s == 24 * 3600
    assert slice_.as_dict(now)["repair_s"] == 25 * 3600
    assert not account_day(1, DAY, [], [], [fault], now, 48).faults[0].overdue
    [ongoing] = account_day(1, DAY, [], [gap], [], now, 24).gaps
    assert ongoing.ongoing and ongoing.seconds == 24 * 3600
