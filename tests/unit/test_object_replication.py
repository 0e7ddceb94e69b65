"""Replication of the object store without a SeaweedFS: the copies a replication asks for, where
the test cluster's volume servers are placed, the derived ports, reading the master's answer, and
the report of under-replicated volumes (issue 16 §3)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from custos.adapters.storage.seaweedfs import Ports
from custos.adapters.storage.seaweedfs_cluster import placement
from custos.adapters.storage.seaweedfs_replication import MasterTopology, parse_vol_status
from custos.services.object_replication import (
    VolumeCopy,
    assess,
    check_replication,
    copies_required,
)
from tests.ports import free_port

BUCKET = "custos-segments"


def test_copies_required_follow_the_three_digits() -> None:
    assert [copies_required(r) for r in ("000", "001", "010", "100", "011", "212")] == [
        1, 2, 2, 2, 3, 6,
    ]  # fmt: skip
    for bad in ("01", "0001", "00a", " 001", ""):
        with pytest.raises(ValueError, match="three digits"):
            copies_required(bad)


def test_volume_servers_are_placed_so_the_replication_can_be_met() -> None:
    assert placement("000", 1) == [("dc1", "rack1")]
    assert placement("001", 2) == [("dc1", "rack1")] * 2
    assert placement("010", 2) == [("dc1", "rack1"), ("dc1", "rack2")]
    assert placement("100", 3) == [("dc1", "rack1"), ("dc2", "rack1"), ("dc1", "rack1")]
    assert placement("111", 4) == [
        ("dc1", "rack1"), ("dc1", "rack1"), ("dc1", "rack2"), ("dc2", "rack1"),
    ]  # fmt: skip
    with pytest.raises(ValueError, match="needs at least 2 volume servers, not 1"):
        placement("001", 1)
    with pytest.raises(ValueError, match="needs at least 4"):
        placement("111", 3)


def test_ports_derive_from_the_s3_port_and_one_server_keeps_the_old_layout() -> None:
    one = Ports(13000)
    assert (one.master, one.volume, one.filer, one.span) == (13001, 13002, 13003, 3)
    assert sorted(one.all()) == [13000, 13001, 13002, 13003, 23000, 23001, 23002, 23003]
    three = Ports(13000, 3)
    assert [three.volume_at(i) for i in (1, 2, 3)] == [13002, 13004, 13005]
    assert three.filer == 13003 and three.span == 5
    assert len(set(three.all())) == 12
    with pytest.raises(ValueError, match="no volume server 4"):
        three.volume_at(4)
    with pytest.raises(ValueError, match="volume servers"):
        Ports(13000, 9)
    with pytest.raises(ValueError, match="no room"):
        Ports(65535 - 10000 - 4, 3)  # volume server 3's gRPC port would be past 65535
    assert Ports(65535 - 10000 - 4, 2).volume_at(2) + 10000 == 65535


def _answer(servers: dict[str, list[dict[str, object]]], rack: str = "rack1") -> object:
    return {"Version": "x", "Volumes": {"DataCenters": {"dc1": {rack: servers}}}}


def _vol(vid: int, placement: dict[str, int], files: int = 0, size: int = 8) -> dict[str, object]:
    return {
        "Id": vid, "Collection": BUCKET, "ReplicaPlacement": placement,
        "FileCount": files, "DeleteCount": 0, "Size": size, "DeletedByteCount": 0,
    }  # fmt: skip


def test_the_masters_answer_is_read_into_copies() -> None:
    answer = {
        "Volumes": {
            "DataCenters": {
                "dc1": {
                    "rack1": {"a:1": [_vol(1, {"node": 1}, files=3, size=8 + 300)]},
                    "rack2": {"b:1": [_vol(2, {"rack": 1, "dc": 2}) | {"DeleteCount": 0}]},
                }
            }
        }
    }
    copies = parse_vol_status(answer)
    assert copies == [
        VolumeCopy(1, BUCKET, "a:1", "001", 3, 300),
        VolumeCopy(2, BUCKET, "b:1", "210", 0, 0),
    ]
    assert parse_vol_status({"Volumes": {"DataCenters": None}}) == []
    for bad in (
        _answer({"a:1": [_vol(-1, {})]}),
        _answer({"a:1": [_vol(1, {"node": 10})]}),
        _answer({"a:1": [_vol(1, {}) | {"FileCount": "3"}]}),
        {"Volumes": {"DataCenters": {"dc1": {"r": {"a:1": [{"Collection": BUCKET}]}}}}},
    ):
        with pytest.raises((ValueError, KeyError)):
            parse_vol_status(bad)


def test_volumes_with_fewer_copies_than_required_are_reported() -> None:
    copies = [
        VolumeCopy(1, BUCKET, "a:1", "001", 10, 1000),
        VolumeCopy(1, BUCKET, "b:1", "001", 10, 1000),  # both copies: fine
        VolumeCopy(2, BUCKET, "a:1", "001", 4, 400),  # one of two
        VolumeCopy(3, "other", "a:1", "001", 7, 700),  # one of two, not Custos's bucket
        VolumeCopy(4, BUCKET, "a:1", "000", 5, 500),  # one of one: fine
        VolumeCopy(5, BUCKET, "a:1", "011", 2, 200),  # two of three,
        VolumeCopy(5, BUCKET, "b:1", "011", 3, 300),  # the larger count is taken
    ]
    report = assess(copies, BUCKET, "http://m:1")
    assert (report.volumes, report.servers) == (5, 2)
    assert [(u.volume_id, u.present, u.required) for u in report.under_replicated] == [
        (2, 1, 2), (3, 1, 2), (5, 2, 3),
    ]  # fmt: skip
    assert report.under_replicated[2].servers == ("a:1", "b:1")
    assert (report.files_at_risk, report.bytes_at_risk) == (4 + 3, 400 + 300)
    assert not report.clean
    assert "3 of 5 volume(s) under-replicated" in report.summary()
    assert report.lines()[0] == (
        f"under-replicated volume 2 ({BUCKET}): 1 of 2 copies (on a:1), 4 file(s), 400 bytes"
    )
    healthy = assess(copies[:2], BUCKET)
    assert healthy.clean and healthy.under_replicated == []
    assert "none under-replicated" in healthy.summary()


def test_no_master_configured_is_said_and_not_a_failure() -> None:
    report = check_replication(None, BUCKET)
    assert report.status == "not_configured" and report.clean
    assert "CUSTOS_S3_MASTER_URL is not set" in report.summary()


class _Master(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/vol/status" else 404)
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def master() -> Iterator[tuple[str, type[_Master]]]:
    handler = type("Handler", (_Master,), {})
    server = HTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", handler
    server.shutdown()
    server.server_close()


def test_a_master_that_does_not_answer_or_answers_nonsense_makes_the_check_fail(
    master: tuple[str, type[_Master]],
) -> None:
    url, handler = master
    handler.body = b'{"Volumes": {"DataCenters": {"dc1": {"r": {"a:1": ['
    handler.body += b'{"Id": 1, "Collection": "custos-segments", "ReplicaPlacement": {"node": 1},'
    handler.body += b' "FileCount": 2, "Size": 108}]}}}}}'
    report = check_replication(MasterTopology(url), BUCKET)
    assert report.status == "checked" and report.master == url
    assert [(u.volume_id, u.present, u.required) for u in report.under_replicated] == [(1, 1, 2)]
    assert (report.files_at_risk, report.bytes_at_risk) == (2, 100)

    handler.body = b"<html>not json</html>"
    garbled = check_replication(MasterTopology(url), BUCKET)
    assert garbled.status == "unreachable" and not garbled.clean
    assert "cannot read" in (garbled.error or "")

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    down = check_replication(MasterTopology(f"http://127.0.0.1:{closed}", 2), BUCKET)
    assert down.status == "unreachable" and not down.clean
    assert down.summary().startswith("replication NOT checked: the SeaweedFS master")
