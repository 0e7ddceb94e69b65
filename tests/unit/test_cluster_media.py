"""ClusterMedia.fetch (services/cluster_media.py): a segment on the node that recorded it, fetched
through a real node media server on 127.0.0.1 into the cache, checked against the index, and
what happens when it cannot be (no node in the row, no secret, the node gone)."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custos.adapters.storage.node_media_client import NodeMediaClient
from custos.adapters.storage.segment_files import SegmentStore
from custos.domain.clock import SystemClock
from custos.domain.errors import Conflict
from custos.domain.recording import Segment
from custos.recorder.node_media import NodeMediaServer
from custos.services.cluster_media import ClusterMedia, NodeAt, first_found

SECRET = b"k" * 40
DATA = os.urandom(300_000)


class Directory:
    def __init__(self, addresses: dict[str, str]) -> None:
        self.addresses = addresses
        self.asked = 0

    def holder_of(self, camera_id: int) -> NodeAt | None:
        return None

    def address_of(self, node: str) -> str | None:
        self.asked += 1
        return self.addresses.get(node)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NodeMediaServer]:
    store = SegmentStore(tmp_path / "node-a")
    path = store.run_dir(3, "run") / "000001.mp4"
    path.write_bytes(DATA)
    store.seal(path)
    s = NodeMediaServer("127.0.0.1", 0, SECRET, store, SystemClock())
    s.start()
    yield s
    s.stop()


def segment(node: str | None, sha256: str | None = None) -> Segment:
    start = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    return Segment(
        11, 3, "run", 1, "3/run/000001.mp4", start, start + timedelta(seconds=10), 10.0,
        len(DATA), sha256 or hashlib.sha256(DATA).hexdigest(), "h264", 320, 240, start,
        node=node, fencing_token=1 if node else None,
    )  # fmt: skip


def test_a_segment_is_fetched_once_then_served_from_the_checked_copy(
    server: NodeMediaServer, tmp_path: Path
) -> None:
    directory = Directory({"node-a": server.address})
    media = ClusterMedia(directory, NodeMediaClient(SECRET, SystemClock()), tmp_path / "cache")
    got = media.fetch(segment("node-a"))
    assert got is not None and got.read_bytes() == DATA
    assert got.is_relative_to(tmp_path / "cache" / "node-a")
    server.stop()  # the node is gone: the checked copy still serves
    assert media.fetch(segment("node-a")) == got
    assert directory.asked == 1


def test_rows_without_a_node_or_a_node_gone_give_nothing(
    server: NodeMediaServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = Directory({"node-a": server.address, "node-b": "127.0.0.1:1"})
    media = ClusterMedia(directory, NodeMediaClient(SECRET, SystemClock()), tmp_path / "cache")
    assert media.fetch(segment(None)) is None  # a one-machine recorder's row
    assert media.fetch(segment("node-c")) is None  # not registered
    with caplog.at_level(logging.WARNING):
        assert media.fetch(segment("node-b")) is None  # nothing listens there
    assert "not fetched from node node-b" in caplog.text
    assert not list((tmp_path / "cache").rglob("*.mp4*"))
    wrong = NodeMediaClient(b"w" * 40, SystemClock())
    with caplog.at_level(logging.WARNING):  # refused by the node: 403
        assert ClusterMedia(directory, wrong, tmp_path / "other").fetch(segment("node-a")) is None
    assert "refused the request (403)" in caplog.text


def test_without_a_secret_nothing_is_asked_and_it_is_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = Directory({"node-a": "127.0.0.1:1"})
    media = ClusterMedia(directory, None, tmp_path / "cache")
    with caplog.at_level(logging.WARNING):
        assert media.fetch(segment("node-a")) is None
        assert media.fetch(segment("node-a")) is None
    assert caplog.text.count("CUSTOS_CLUSTER_SECRET is not set") == 1
    assert directory.asked == 0


def test_a_copy_unlike_the_index_is_refused_and_not_kept(
    server: NodeMediaServer, tmp_path: Path
) -> None:
    media = ClusterMedia(
        Directory({"node-a": server.address}),
        NodeMediaClient(SECRET, SystemClock()),
        tmp_path / "cache",
    )
    with pytest.raises(Conflict, match="does not match its indexed SHA-256"):
        media.fetch(segment("node-a", sha256="0" * 64))
    assert not list((tmp_path / "cache").rglob("*.mp4*"))


def test_first_found_asks_in_turn(tmp_path: Path) -> None:
    asked: list[str] = []

    def none(seg: Segment) -> Path | None:
        asked.append("none")
        return None

    def here(seg: Segment) -> Path | None:
        asked.append("here")
        return tmp_path

    assert first_found(None, None) is None
    assert first_found(None, here) is here
    both = first_found(none, here)
    assert both is not None and both(segment(None)) == tmp_path and asked == ["none", "here"]
