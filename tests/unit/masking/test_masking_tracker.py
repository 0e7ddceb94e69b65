"""Boxes carried between detector runs: no blink, a short hold, growth by a margin, zones."""

from __future__ import annotations

import pytest

from custos.domain.masking import (
    Box,
    BoxTracker,
    Detection,
    MaskKind,
    StaticZone,
    TrackerSettings,
)


def face(x: int, y: int, size: int = 40) -> Detection:
    return Detection(MaskKind.FACE, Box(x, y, x + size, y + size), 0.9)


def test_a_box_stays_between_detector_runs_and_follows_its_velocity() -> None:
    tracker = BoxTracker(TrackerSettings(hold_frames=10, margin=0.0), 1280, 720)
    assert [b for _, b in tracker.step(0, [face(100, 100)])] == [Box(100, 100, 140, 140)]
    tracker.step(5, [face(110, 100)])  # 2 px a frame to the right
    ((_, predicted),) = tracker.step(7, None)
    assert (predicted.x0 + predicted.x1) / 2 == 134  # moved on by 2 px a frame
    assert predicted.width > 40  # grown while predicted, not seen
    assert predicted.covered_by([]) == 0.0
    assert Box(114, 100, 154, 140).covered_by([predicted]) == pytest.approx(1.0)


def test_a_missed_detection_is_held_then_dropped_after_hold_frames() -> None:
    tracker = BoxTracker(TrackerSettings(hold_frames=10), 1280, 720)
    tracker.step(0, [face(100, 100)])
    for frame in range(1, 11):
        assert len(tracker.step(frame, [] if frame % 5 == 0 else None)) == 1
    assert tracker.step(15, []) == []
    (track,) = tracker.close()
    assert track.frames[0][0] == 0 and track.frames[-1][0] == 10


def test_detections_of_another_kind_or_far_away_start_new_tracks() -> None:
    tracker = BoxTracker(TrackerSettings(), 1280, 720)
    tracker.step(0, [face(100, 100)])
    plate = Detection(MaskKind.PLATE, Box(100, 100, 140, 140), 0.9)
    shown = tracker.step(1, [face(600, 300), plate])
    assert len(shown) == 3
    assert len({track.id for track, _ in shown}) == 3


def test_the_margin_grows_the_box_and_clips_it_to_the_frame() -> None:
    assert Box(10, 10, 110, 60).grown(0.1, 1280, 720) == Box(0, 5, 120, 65)
    assert Box(1270, 700, 1280, 720).grown(0.5, 1280, 720) == Box(1265, 690, 1280, 720)


def test_coverage_counts_overlapping_boxes_once() -> None:
    target = Box(0, 0, 10, 10)
    assert target.covered_by([Box(0, 0, 10, 5), Box(0, 0, 10, 5)]) == pytest.approx(0.5)
    assert target.covered_by([Box(0, 0, 6, 10), Box(4, 0, 10, 10)]) == pytest.approx(1.0)


def test_static_zones_are_relative_and_bounded() -> None:
    sign = StaticZone(0.5, 0.0, 1.0, 0.1, "平安大药房")
    assert sign.box(1280, 720) == Box(640, 0, 1280, 72)
    with pytest.raises(ValueError, match="left < right"):
        StaticZone(0.6, 0.0, 0.5, 0.1)
    with pytest.raises(ValueError, match="hold_frames"):
        TrackerSettings(hold_frames=10_000)


def test_a_track_that_starts_between_runs_is_carried_back_to_the_frame_after_the_last_run() -> None:
    tracker = BoxTracker(TrackerSettings(hold_frames=10, margin=0.0), 1280, 720)
    assert tracker.step(0, []) == []
    for frame in range(1, 5):
        assert tracker.step(frame, None) == []
    shown = tracker.step(5, [face(300, 200)])
    assert [b for _, b in shown] == [Box(300, 200, 340, 240)]
    back = dict(tracker.backfilled)
    assert sorted(back) == [1, 2, 3, 4]  # frame 0 was the run that did not see it
    for earlier, box in back.items():  # grown as a track seen once, more the further back
        assert Box(300, 200, 340, 240).covered_by([box]) == pytest.approx(1.0)
        assert box.width == 40 + 2 * round(40 * 0.12 * (5 - earlier))
    (track,) = tracker.close()
    assert [f for f, _ in track.frames] == [1, 2, 3, 4, 5]


def test_backfill_stops_at_hold_frames_and_can_be_turned_off() -> None:
    far = BoxTracker(TrackerSettings(hold_frames=3), 1280, 720)
    far.step(0, [])
    far.step(20, [face(100, 100)])
    assert [f for f, _ in far.backfilled] == [17, 18, 19]
    off = BoxTracker(TrackerSettings(backfill=False), 1280, 720)
    off.step(0, [])
    off.step(5, [face(100, 100)])
    assert off.backfilled == []
    assert [f for f, _ in off.close()[0].frames] == [5]
    assert TrackerSettings(backfill=False).as_dict()["backfill"] is False


def test_a_matched_track_is_not_carried_back_again() -> None:
    tracker = BoxTracker(TrackerSettings(), 1280, 720)
    tracker.step(0, [face(100, 100)])
    tracker.step(5, [face(104, 100)])
    assert tracker.backfilled == []
