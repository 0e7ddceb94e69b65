"""The GB/T 28181 engine without a device: what it offers, how a refusal ends the run (and how
the worker's table classifies it), BYE once, and the relay's SSRC filter on loopback UDP."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from custos.adapters.media.ffmpeg_segmenter import ListedSegment, classify_exit
from custos.adapters.media.rtp import RtpPacket
from custos.config import Settings
from custos.domain.clock import SystemClock
from custos.domain.gb_media import (
    GbSource,
    MediaAnswer,
    MediaOffer,
    MediaRefused,
    RefusalReason,
)
from custos.domain.recording import OfflineReason
from custos.recorder.engines.gb28181 import GbEngine
from custos.recorder.engines.gb_relay import RelayChannel
from custos.recorder.main import gb_engine
from custos.recorder.port import OnOutput, RecordingSession, SessionRequest
from custos.recorder.run_outcome import ended_detail
from custos.recorder.run_state import RunState

DEVICE, CHANNEL = "34020000001320000001", "34020000001320000002"
SSRC = "0200000001"


class Signalling:
    def __init__(self, refuse: MediaRefused | None = None) -> None:
        self.refuse = refuse
        self.offers: list[MediaOffer] = []
        self.byes: list[str] = []

    def invite(self, offer: MediaOffer, timeout_s: float) -> MediaAnswer:
        self.offers.append(offer)
        if self.refuse is not None:
            raise self.refuse
        return MediaAnswer("call-1", SSRC, "127.0.0.1", 40000, offer.transport)

    def bye(self, call_id: str) -> None:
        self.byes.append(call_id)


class Reader:
    """The inner engine's session: connects to the loopback like ffmpeg, keeps what it reads."""

    def __init__(self, source: str) -> None:
        port = int(source.rsplit(":", 1)[1])
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.data = bytearray()
        self.exited = threading.Event()
        self.terminated = self.killed = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        with self.sock:
            while chunk := self.sock.recv(65536):
                self.data += chunk
        self.exited.set()

    def poll(self) -> int | None:
        return 0 if self.exited.is_set() else None

    def terminate(self) -> None:
        self.terminated = True

    def kill(self) -> None:
        self.killed = True
        with contextlib.suppress(OSError):  # already closed by the relay
            self.sock.shutdown(socket.SHUT_RDWR)

    def listed(self) -> Iterator[ListedSegment]:
        return iter(())

    def wait(self) -> None:
        assert self.exited.wait(5)


class Inner:
    name = "fake"

    def __init__(self) -> None:
        self.requests: list[SessionRequest] = []
        self.sessions: list[Reader] = []

    def start(self, request: SessionRequest, run: RunState, on_output: OnOutput) -> Reader:
        self.requests.append(request)
        self.sessions.append(Reader(request.source))
        return self.sessions[-1]

    def close(self) -> None:
        pass


def start(
    engine: GbEngine, tmp_path: Path, transport: str = "udp"
) -> tuple[RecordingSession, RunState]:
    run = RunState(SystemClock())
    url = GbSource(DEVICE, CHANNEL, transport).url()  # type: ignore[arg-type]
    request = SessionRequest(7, url, tmp_path, 60, 5.0)
    return engine.start(request, run, lambda: None), run


@pytest.mark.parametrize(
    ("reason", "offline", "said"),
    [
        ("device_offline", OfflineReason.UNREACHABLE, "GB/T 28181: device offline: not registered"),
        ("timeout", OfflineReason.UNREACHABLE, "GB/T 28181: no answer to the INVITE"),
        ("no_signalling", OfflineReason.UNREACHABLE, "GB/T 28181: no SIP server to ask"),
        ("unknown_channel", OfflineReason.PROTOCOL_ERROR, "GB/T 28181: unknown channel"),
        ("refused", OfflineReason.PROTOCOL_ERROR, "GB/T 28181: INVITE refused: 403 Forbidden"),
        ("bad_answer", OfflineReason.PROTOCOL_ERROR, "GB/T 28181: unusable answer: m= port"),
    ],
)
def test_a_refused_invite_ends_the_run_with_its_reason_and_detail(
    reason: RefusalReason, offline: OfflineReason, said: str, tmp_path: Path
) -> None:
    detail = said.partition(": ")[2].partition(": ")[2] or "x"
    signalling = Signalling(MediaRefused(reason, detail))
    inner = Inner()
    engine = GbEngine(inner, signalling, "127.0.0.1")
    session, run = start(engine, tmp_path)
    engine.close()
    assert session.poll() is not None and run.exited and inner.requests == []
    tail = list(run.log_tail)
    assert classify_exit(tail, recorded_anything=False) is offline
    assert ended_detail(offline, tail).startswith(said)


def test_the_offer_names_the_media_host_a_port_of_the_range_and_the_transport(
    tmp_path: Path,
) -> None:
    signalling = Signalling()
    inner = Inner()
    engine = GbEngine(inner, signalling, "127.0.0.1", ports=range(31500, 31510))
    try:
        session, _ = start(engine, tmp_path, "tcp-passive")
        offer = signalling.offers[0]
        assert (offer.device_id, offer.channel_id) == (DEVICE, CHANNEL)
        assert offer.ip == "127.0.0.1" and offer.transport == "tcp-passive"
        assert 31500 <= offer.port < 31510
        assert inner.requests[0].input_format == "mpeg"
        assert inner.requests[0].source.startswith("tcp://127.0.0.1:")
        session.terminate()
        session.kill()
        session.wait()
        assert signalling.byes == ["call-1"]  # once, however it ended
        assert inner.sessions[0].terminated and inner.sessions[0].killed
    finally:
        engine.close()


def test_only_the_answered_ssrc_reaches_the_engine_in_order(tmp_path: Path) -> None:
    signalling = Signalling()
    inner = Inner()
    engine = GbEngine(inner, signalling, "127.0.0.1")
    try:
        session, run = start(engine, tmp_path)
        port = signalling.offers[0].port
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as device:
            for seq in (1, 0, 2, 3):  # 1 before 0: the first sets the start, 0 is late
                device.sendto(
                    RtpPacket(seq, 0, int(SSRC), b"ours%d" % seq).build(), ("127.0.0.1", port)
                )
                device.sendto(RtpPacket(seq, 0, 5, b"theirs").build(), ("127.0.0.1", port))
            device.sendto(RtpPacket(5, 0, int(SSRC), b"ours5").build(), ("127.0.0.1", port))
        reader = inner.sessions[0]
        deadline = time.monotonic() + 5
        while reader.data != b"ours1ours2ours3ours5" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reader.data == b"ours1ours2ours3ours5"  # 4 given up after 200 ms
        session.terminate()
        session.wait()
        counts = [line for line in run.log_tail if line.startswith("GB/T 28181 media:")]
        assert counts == [
            "GB/T 28181 media: 5 packets, 1 lost, 0 reordered, 1 duplicate or late, "
            "4 of another SSRC, 0 malformed, 0 bytes dropped for a slow reader"
        ]
        assert ended_detail(OfflineReason.STREAM_ENDED, list(run.log_tail)) != counts[0]
    finally:
        engine.close()


def test_the_recorder_has_a_gb_engine_only_with_gb_enabled(tmp_path: Path) -> None:
    inner = Inner()
    assert gb_engine(Settings(data_dir=tmp_path), inner) is None
    engine = gb_engine(Settings(data_dir=tmp_path, gb_enabled=True), inner)
    assert engine is not None
    try:  # nobody serves the media control socket: the run ends, unreachable, saying so
        session, run = start(engine, tmp_path)
    finally:
        engine.close()
    tail = list(run.log_tail)
    assert session.poll() is not None and inner.requests == []
    assert classify_exit(tail, recorded_anything=False) is OfflineReason.UNREACHABLE
    assert ended_detail(OfflineReason.UNREACHABLE, tail).startswith(
        "GB/T 28181: no SIP server to ask: no SIP server on "
    )


def test_a_slow_reader_costs_dropped_bytes_never_unbounded_memory() -> None:
    said: list[str] = []
    with socket.socket() as media, socket.socket() as loopback:
        channel = RelayChannel("camera 1", "udp", media, loopback, 1, said.append, 64 * 1024)
        for seq in range(100):
            channel.on_packet(RtpPacket(seq, 0, 1, b"\0" * 1400).build(), now=0.0)
    assert len(channel.out) <= 64 * 1024
    assert channel.stats.overflow_bytes == 100 * 1400 - len(channel.out)
    assert "bytes dropped for a slow reader" in channel.summary()
    assert f"{channel.stats.overflow_bytes} bytes dropped" in channel.summary()
