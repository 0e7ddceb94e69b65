"""The media control socket (adapters/sip/media_control.py): JSON lines between the recorder's
client and the SIP server, with a fake in place of the SIP dialogs."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import stat
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from custos.adapters.sip.media_control import (
    MAX_LINE_BYTES,
    MediaControlClient,
    MediaControlServer,
    socket_path,
)
from custos.domain.gb_media import MediaAnswer, MediaOffer, MediaRefused

DEVICE = "34020000001180000001"
CHANNEL = "34020000001310000001"
OFFER = MediaOffer(DEVICE, CHANNEL, "127.0.0.1", 40000, "udp")


class FakeMedia:
    def __init__(self) -> None:
        self.offers: list[tuple[MediaOffer, float]] = []
        self.byes: list[str] = []
        self.refusal: MediaRefused | None = None
        self.delay_s = 0.0

    async def invite(self, offer: MediaOffer, timeout_s: float) -> MediaAnswer:
        self.offers.append((offer, timeout_s))
        await asyncio.sleep(self.delay_s)
        if self.refusal is not None:
            raise self.refusal
        return MediaAnswer("call-1@3402000000", "0100000099", "127.0.0.2", 15060, offer.transport)

    def bye(self, call_id: str) -> None:
        self.byes.append(call_id)


class FakeSip:
    """What the control server needs of GbSipServer: its loop (``submit``) and ``media``."""

    def __init__(self) -> None:
        self.media = FakeMedia()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def submit(self, coro: Coroutine[Any, Any, Any]) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def close(self) -> None:
        async def cancel_the_rest() -> None:  # as asyncio.run does at its end
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.submit(cancel_the_rest()).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A data directory short enough for a Unix socket path (pytest's tmp_path may not be)."""
    path = Path(tempfile.mkdtemp(prefix="gbmc", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def served(short_dir: Path) -> Iterator[tuple[FakeSip, MediaControlServer]]:
    sip = FakeSip()
    server = MediaControlServer(sip, socket_path(short_dir))  # type: ignore[arg-type]
    server.start()
    yield sip, server
    server.stop()
    sip.close()


def lines(path: Path, *sent: bytes) -> list[dict[str, Any]]:
    """Send raw lines on one connection, read one answer each."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        answers: list[dict[str, Any]] = []
        buffer = b""
        for line in sent:
            sock.sendall(line)
            while b"\n" not in buffer:
                buffer += sock.recv(4096)
            first, buffer = buffer.split(b"\n", 1)
            answers.append(json.loads(first))
        return answers


def test_the_socket_is_in_data_dir_run_and_only_its_owner_may_use_it(
    served: tuple[FakeSip, MediaControlServer], short_dir: Path
) -> None:
    _, server = served
    assert server.path == short_dir / "run" / "gb-media.sock"
    assert stat.S_ISSOCK(server.path.stat().st_mode)
    assert stat.S_IMODE(server.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(server.path.parent.stat().st_mode) == 0o700


def test_an_invite_through_the_client_returns_the_answer(
    served: tuple[FakeSip, MediaControlServer],
) -> None:
    sip, server = served
    offer = MediaOffer(DEVICE, CHANNEL, "127.0.0.1", 40000, "tcp-active")
    answer = MediaControlClient(server.path).invite(offer, 3.0)
    assert answer == MediaAnswer(
        "call-1@3402000000", "0100000099", "127.0.0.2", 15060, "tcp-active"
    )
    assert sip.media.offers == [(offer, 3.0)]


@pytest.mark.parametrize(
    "reason", ["device_offline", "unknown_channel", "refused", "timeout", "bad_answer"]
)
def test_each_refusal_reaches_the_client_with_its_reason_and_detail(
    served: tuple[FakeSip, MediaControlServer], reason: Any
) -> None:
    sip, server = served
    sip.media.refusal = MediaRefused(reason, "because")
    with pytest.raises(MediaRefused) as refused:
        MediaControlClient(server.path).invite(OFFER, 2.0)
    assert (refused.value.reason, refused.value.detail) == (reason, "because")


def test_bye_is_passed_on_and_answered_ok(served: tuple[FakeSip, MediaControlServer]) -> None:
    sip, server = served
    MediaControlClient(server.path).bye("call-1@3402000000")
    assert sip.media.byes == ["call-1@3402000000"]


def test_malformed_and_overlong_lines_are_bad_requests_and_the_connection_stays(
    served: tuple[FakeSip, MediaControlServer],
) -> None:
    sip, server = served
    answers = lines(
        server.path,
        b"not json\n",
        b"[1,2]\n",
        b'{"op":"shout"}\n',
        b'{"op":"bye","call":"' + b"x" * (2 * MAX_LINE_BYTES) + b'"}\n',
        b'{"op":"bye","call":"c1"}\n',
    )
    assert [a["ok"] for a in answers] == [False, False, False, False, True]
    assert {a.get("reason") for a in answers[:4]} == {"bad_request"}
    assert "4096" in answers[3]["detail"]
    assert sip.media.byes == ["c1"]


@pytest.mark.parametrize(
    ("change", "field_name"),
    [
        ({"device": "3402"}, "device"),
        ({"channel": 34020000001310000001}, "channel"),
        ({"ip": "localhost"}, "ip"),
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"port": True}, "port"),
        ({"transport": "sctp"}, "transport"),
        ({"timeout_s": 3600}, "timeout_s"),
    ],
)
def test_an_invite_with_a_bad_field_is_refused_naming_it(
    served: tuple[FakeSip, MediaControlServer], change: dict[str, Any], field_name: str
) -> None:
    sip, server = served
    request = {"op": "invite", "device": DEVICE, "channel": CHANNEL, "ip": "127.0.0.1",
               "port": 40000, "transport": "udp", **change}  # fmt: skip
    [answer] = lines(server.path, json.dumps(request).encode() + b"\n")
    assert answer["reason"] == "bad_request" and answer["detail"].startswith(f"{field_name}:")
    assert sip.media.offers == []


def test_no_socket_or_nobody_listening_is_no_signalling(short_dir: Path) -> None:
    path = socket_path(short_dir)
    with pytest.raises(MediaRefused) as missing:
        MediaControlClient(path).invite(OFFER, 1.0)
    assert missing.value.reason == "no_signalling"
    path.parent.mkdir()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(path))  # a socket file nobody accepts on: ECONNREFUSED
    with pytest.raises(MediaRefused) as refused:
        MediaControlClient(path).invite(OFFER, 1.0)
    assert refused.value.reason == "no_signalling"
    MediaControlClient(path).bye("call-1")  # nothing to end: logged, not raised


def test_a_stale_socket_file_is_replaced_but_a_live_server_is_not(short_dir: Path) -> None:
    path = socket_path(short_dir)
    path.parent.mkdir()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(path))
    sip = FakeSip()
    server = MediaControlServer(sip, path)  # type: ignore[arg-type]
    try:
        server.start()
        assert MediaControlClient(path).invite(OFFER, 1.0).ssrc == "0100000099"
        with pytest.raises(RuntimeError, match="another server"):
            MediaControlServer(sip, path).start()  # type: ignore[arg-type]
        time.sleep(0.2)  # the probe's connection is served and closed before the server stops
    finally:
        server.stop()
        sip.close()
    assert not path.exists()


def test_a_server_slower_than_the_time_out_is_a_timeout(
    served: tuple[FakeSip, MediaControlServer],
) -> None:
    sip, server = served
    sip.media.delay_s = 2.0
    with pytest.raises(MediaRefused) as refused:
        MediaControlClient(server.path, grace_s=0.2).invite(OFFER, 0.5)
    assert refused.value.reason == "timeout"


def test_a_path_too_long_for_a_unix_socket_is_refused_at_once() -> None:
    sip = FakeSip()
    with pytest.raises(ValueError, match="too long"):
        MediaControlServer(sip, Path("/tmp") / ("d" * 120) / "gb-media.sock")  # type: ignore[arg-type]
    sip.close()
