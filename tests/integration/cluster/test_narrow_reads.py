"""The recorder's registry reads, bounded (docs/design/cluster.md, "Reading less at 10,000
cameras"): the lease keeper's ids open no stream URL and are exactly the targets' ids; a node's
supervisor reads only the cameras it holds, the one-machine recorder the whole registry."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from custos.adapters.crypto import FernetSecretBox, load_or_create_key
from custos.adapters.db.uow import SqlUnitOfWorkFactory
from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container
from custos.domain.calendar import shanghai_date
from custos.entrypoints.demo.cameras import register_demo_cameras
from custos.recorder.camera_worker import RecorderConfig
from custos.recorder.engines.fake import FakeEngine, sample_command
from custos.recorder.leases import LeaseKeeper
from custos.recorder.supervisor import Supervisor
from custos.services.recorder_leases import NodeIdentity, RecorderLeases
from custos.services.recording import RecordingService


class CountingBox:
    """The stream URLs' secret box, counting what it opens."""

    def __init__(self, inner: FernetSecretBox) -> None:
        self._inner = inner
        self.opened = 0

    def seal(self, plaintext: str) -> bytes:
        return self._inner.seal(plaintext)

    def open(self, token: bytes) -> str:
        self.opened += 1
        return self._inner.open(token)


def _counting(c: Container) -> tuple[RecordingService, CountingBox]:
    box = CountingBox(FernetSecretBox(load_or_create_key(c.settings.data_dir / "keys" /
                                                          "secrets.key")))  # fmt: skip
    return RecordingService(SqlUnitOfWorkFactory(c.engine, box), c.clock), box


def _registry(c: Container) -> tuple[list[int], set[int]]:
    """Seven cameras with credentials in their URLs; four of them are to be recorded."""
    urls = [f"rtsp://admin:secret{i}@127.0.0.1:9/cam{i}" for i in range(7)]
    ids = register_demo_cameras(c.registry, urls, shanghai_date(c.clock.now()))
    now = c.clock.now()
    step = ("INSERT INTO camera_lifecycle (camera_id, state, on_date, recorded_at) "
            "VALUES (:cam, :state, :on, :at)")  # fmt: skip
    with c.engine.begin() as conn:

        def to(i: int, state: str) -> None:
            conn.execute(
                text(step), {"cam": ids[i], "state": state, "on": shanghai_date(now), "at": now}
            )

        to(1, "removed")  # latest step not a recording state
        to(2, "changed")  # still recorded
        to(3, "relocated")
        to(4, "removed")
        to(4, "in_service")  # the latest step decides, not any earlier one
        conn.execute(text("UPDATE cameras SET main_stream_url = NULL WHERE id = :c"), {"c": ids[5]})
        conn.execute(text("DELETE FROM camera_lifecycle WHERE camera_id = :c"), {"c": ids[6]})
    return ids, {ids[0], ids[2], ids[3], ids[4]}


def test_the_keepers_ids_are_the_targets_ids_and_open_no_stream_url(container: Container) -> None:
    _, expected = _registry(container)
    service, box = _counting(container)
    ids = service.camera_ids_to_record()
    assert box.opened == 0
    assert ids == sorted(expected)
    targets = service.targets()
    assert [t.camera_id for t in targets] == ids
    assert box.opened >= len(expected)  # the double counts: the full read opens every URL


def test_targets_of_given_cameras_read_only_those(container: Container) -> None:
    ids, expected = _registry(container)
    service, box = _counting(container)
    asked = {ids[0], ids[1], ids[3]}
    assert [t.camera_id for t in service.targets(asked)] == sorted(asked & expected)
    assert box.opened == len(asked)  # one URL per camera asked for, none of the others
    assert service.targets(set()) == []
    assert box.opened == len(asked)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is needed for the fake engine's sample: run scripts/setup")
    path = tmp_path_factory.mktemp("sample") / "sample.mp4"
    subprocess.run(sample_command(path), check=True)
    return path


class RowsRead:
    """Rows the ``cameras`` table gave each statement that selects from it."""

    def __init__(self) -> None:
        self.per_statement: list[int] = []

    def __call__(self, _conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM cameras" in statement:
            self.per_statement.append(cursor.rowcount)


def _sync_once(c: Container, sample: Path, tmp_path: Path, keeper: LeaseKeeper | None) -> RowsRead:
    sup = Supervisor(c.recording, SegmentStore(tmp_path / "media"), RecorderConfig(), c.clock,
                     engine=FakeEngine(sample), leases=keeper)  # fmt: skip
    rows = RowsRead()
    event.listen(c.engine, "after_cursor_execute", rows)
    try:
        sup._sync_with_registry()
    finally:
        event.remove(c.engine, "after_cursor_execute", rows)
        sup._stop_all(list(sup._workers))  # workers of a closed port: nothing recorded
    return rows


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # a node needs PostgreSQL
def test_a_nodes_supervisor_reads_only_the_cameras_it_holds(
    container: Container, sample: Path, tmp_path: Path
) -> None:
    c = container
    _, expected = _registry(c)
    keeper = LeaseKeeper(RecorderLeases(c.uow, c.clock, ttl_s=10),
                         NodeIdentity("node-a", "127.0.0.1:0", 2, "test"),
                         c.recording.camera_ids_to_record, renew_every_s=0.2,
                         claim_every_s=0.2)  # fmt: skip
    keeper.start()
    try:
        deadline = time.monotonic() + 10
        while len(keeper.held()) < 2:
            assert time.monotonic() < deadline, "the keeper claimed nothing"
            time.sleep(0.1)
    finally:
        keeper.stop()  # its own reads are not the supervisor's
    held = set(keeper.held())
    assert held <= expected
    rows = _sync_once(c, sample, tmp_path, keeper)
    assert rows.per_statement == [len(held)]  # one bounded read of the registry
    # the one-machine recorder keeps its behaviour: the whole registry
    assert _sync_once(c, sample, tmp_path / "one", None).per_statement == [7]
