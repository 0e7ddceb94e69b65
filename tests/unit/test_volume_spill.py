"""``volume_spill``: a warning on ``volume:<path>`` while new footage goes to a volume after the
first (the earlier ones ran short), cleared when writing returns to the first."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from custos.adapters.storage.segment_files import SegmentStore
from custos.domain.alarms import AlarmKind, Severity
from custos.domain.clock import ManualClock
from custos.recorder.camera_worker import RecorderConfig
from custos.recorder.supervisor import Supervisor
from custos.services.storage_watch import VolumeSpillAlarm

VOLUMES = ["/srv/media", "/mnt/disk2", "/mnt/disk3"]


class FakeAlarms:
    def __init__(self) -> None:
        self.open: dict[tuple[AlarmKind, str], tuple[Severity, dict[str, Any] | None]] = {}
        self.raised: list[str] = []

    def raise_(self, kind: AlarmKind, severity: Severity, subject: str, message: str,
               detail: dict[str, Any] | None = None, camera_id: int | None = None) -> None:  # fmt: skip
        self.open[(kind, subject)] = (severity, detail)
        self.raised.append(subject)

    def clear(self, kind: AlarmKind, subject: str) -> bool:
        return self.open.pop((kind, subject), None) is not None


def test_raised_on_the_volume_spilled_to_and_cleared_when_writing_returns_to_the_first() -> None:
    alarms = FakeAlarms()
    spill = VolumeSpillAlarm(alarms, VOLUMES)  # type: ignore[arg-type]

    assert spill.update({0: [1, 2]}) is False  # all on the first volume: nothing
    assert alarms.open == {}

    assert spill.update({0: [1], 1: [2]}) is True  # camera 2 spilled to disk2
    severity, detail = alarms.open[(AlarmKind.VOLUME_SPILL, "volume:/mnt/disk2")]
    assert severity is Severity.WARNING
    assert detail == {"volume": 1, "path": "/mnt/disk2", "camera_ids": [2]}

    assert spill.update({0: [1], 1: [2]}) is False  # unchanged: not raised again
    assert alarms.raised == ["volume:/mnt/disk2"]

    spill.update({1: [1, 2], 2: [3]})
    assert set(alarms.open) == {
        (AlarmKind.VOLUME_SPILL, "volume:/mnt/disk2"),
        (AlarmKind.VOLUME_SPILL, "volume:/mnt/disk3"),
    }

    assert spill.update({0: [1, 2, 3]}) is True  # room again on the first: all cleared
    assert alarms.open == {}


def test_the_first_update_clears_an_alarm_a_previous_recorder_left_open() -> None:
    alarms = FakeAlarms()
    alarms.open[(AlarmKind.VOLUME_SPILL, "volume:/mnt/disk3")] = (Severity.WARNING, None)
    spill = VolumeSpillAlarm(alarms, VOLUMES)  # type: ignore[arg-type]
    assert spill.update({0: [1]}) is True
    assert alarms.open == {}


class _Worker:
    def __init__(self, camera_id: int, volume: int | None) -> None:
        self.camera_id = camera_id
        self.volume = volume


def test_the_supervisor_keeps_it_from_where_its_cameras_write(tmp_path: Path) -> None:
    alarms = FakeAlarms()
    store = SegmentStore(tmp_path / "v0", [tmp_path / "v1"])
    spill = VolumeSpillAlarm(alarms, [str(v) for v in store.volumes])
    sup = Supervisor(None, store, RecorderConfig(engine="ffmpeg"), ManualClock(datetime(2026, 1, 1, tzinfo=UTC)),  # type: ignore[arg-type]
                     spill_alarm=spill)  # fmt: skip
    subject = (AlarmKind.VOLUME_SPILL, f"volume:{tmp_path / 'v1'}")
    sup._workers = {1: _Worker(1, 0), 2: _Worker(2, 1)}  # type: ignore[dict-item]
    sup._update_spill_alarm()
    assert subject in alarms.open
    sup._workers[2].volume = None  # type: ignore[attr-defined]  # between two runs: no flapping
    sup._update_spill_alarm()
    assert subject in alarms.open and alarms.raised == [subject[1]]
    sup._workers[2].volume = 0  # type: ignore[attr-defined]  # back on the first volume
    sup._update_spill_alarm()
    assert alarms.open == {}
