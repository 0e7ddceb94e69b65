"""The PyAV engine's own parts: timestamp mending, the shard's protocol, and a shard that dies.

Live recording through shards is tested against GStreamer's RTSP server in
tests/integration/recorder (every test there runs on the pyav engine)."""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

from custos.adapters.media.ffmpeg_segmenter import END_OF_STREAM, classify_exit
from custos.adapters.media.pyav_segmenter import TimestampMender, _packets, frame_ticks, redact
from custos.domain.clock import SystemClock
from custos.domain.recording import OfflineReason
from custos.recorder import shard
from custos.recorder.engines.pyav import ShardPool
from custos.recorder.port import SessionRequest
from custos.recorder.run_state import RunState


def test_a_first_packet_without_time_waits_and_is_placed_a_frame_before_the_next() -> None:
    m = TimestampMender(frame_ticks(Fraction(25), Fraction(1, 90000)))
    assert m.mend(None, None) is None  # held: its time is not known yet
    assert m.mend(3600, 3600) == (3600, 3600)
    assert m.first_before(3600) == 0


def test_repeated_and_backwards_times_are_bumped_never_refused() -> None:
    m = TimestampMender(3600)
    assert m.mend(0, 0) == (0, 0)
    assert m.mend(0, 0) == (1, 1)  # parameter sets as their own packet, same time
    assert m.mend(3600, 3600) == (3600, 3600)
    assert m.mend(1000, 1000) == (3601, 3601)  # backwards
    assert m.mend(None, None) == (7201, 7201)  # no time at all: a frame later
    assert m.mend(None, 9000) == (9000, 9000)  # pts missing: dts stands in
    assert m.bumped == 2


def test_frame_period_in_ticks() -> None:
    assert frame_ticks(Fraction(25), Fraction(1, 90000)) == 3600
    assert frame_ticks(None, Fraction(1, 90000)) == 1


def test_error_lines_never_carry_the_url_or_its_password() -> None:
    line = redact("Server returned 401 Unauthorized: 'rtsp://admin:s3cret@10.0.0.9/live'")
    assert "s3cret" not in line and "rtsp://" not in line


def _refusing_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: connecting is refused


def test_the_shard_reports_a_refused_connection_and_ends_the_session(tmp_path: Path) -> None:
    url = f"rtsp://user:pw@127.0.0.1:{_refusing_port()}/x"
    command = {"op": "open", "sid": 3, "url": url, "dir": str(tmp_path / "run")}
    command |= {"segment_s": 10, "io_timeout_s": 2}
    out = io.BytesIO()
    assert shard.run_stream(io.BytesIO(json.dumps(command).encode() + b"\n"), out) == 0
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    said = [e for e in events if e["ev"] == "said"]
    assert said and said[0]["sid"] == 3
    assert classify_exit([said[0]["line"]], False) is OfflineReason.UNREACHABLE
    assert {"ev": "ended", "sid": 3, "frames": 0} in events
    assert "pw" not in out.getvalue().decode()
    assert not (tmp_path / "run").exists()  # nothing recorded, nothing written


def test_a_bad_command_is_ignored_and_the_shard_goes_on(tmp_path: Path) -> None:
    out = io.BytesIO()
    assert shard.run_stream(io.BytesIO(b"not json\n" + b'{"op": "stop"}\n'), out) == 0
    assert out.getvalue() == b""


def test_sessions_of_a_shard_that_dies_end_as_recorder_restart(tmp_path: Path) -> None:
    pool = ShardPool(cameras_per_shard=2, open_timeout_s=8)
    try:
        # A listener that accepts and says nothing: the session waits inside av.open.
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen()
            url = f"rtsp://127.0.0.1:{silent.getsockname()[1]}/x"
            runs = [RunState(SystemClock()) for _ in range(3)]
            sessions = [
                pool.start(SessionRequest(i, url, tmp_path / f"r{i}", 10, 1.0), run, lambda: None)
                for i, run in enumerate(runs)
            ]
            assert pool.shards == 2  # two per shard: the third started a second one
            first_shard = sessions[0]._shard
            first_shard.kill()
            done = threading.Event()
            threading.Thread(target=lambda: (sessions[0].wait(), done.set()), daemon=True).start()
            assert done.wait(10)
            assert sessions[0].poll() not in (None, 0)
            assert list(sessions[0].listed()) == []
            assert classify_exit(list(runs[0].log_tail), False) is OfflineReason.RECORDER_RESTART
            assert sessions[2].poll() is None  # the other shard's camera is untouched
            assert pool.shards == 1
    finally:
        pool.close(grace_s=15)


def test_a_session_stuck_on_a_socket_that_sends_nothing_is_freed_when_stopped(
    tmp_path: Path,
) -> None:
    """A peer that accepts and then says nothing: neither FFmpeg's socket time-out (30 s here)
    nor the open time-out (30 s) will end the wait; the stop must, within seconds."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"rtsp://127.0.0.1:{silent.getsockname()[1]}/x"
        command = {"op": "open", "sid": 1, "url": url, "dir": str(tmp_path / "run")}
        command |= {"segment_s": 10, "io_timeout_s": 30, "open_timeout_s": 30}
        read_end, write_end = os.pipe()
        out = io.BytesIO()
        done = threading.Event()

        def run_shard() -> None:
            with os.fdopen(read_end, "rb") as stdin:
                shard.run_stream(stdin, out)
            done.set()

        threading.Thread(target=run_shard, daemon=True).start()
        with os.fdopen(write_end, "wb", buffering=0) as stdin:
            stdin.write(json.dumps(command).encode() + b"\n")
            conn, _ = silent.accept()  # the session is connected and waits for an answer
            time.sleep(0.5)
            asked = time.monotonic()
            stdin.write(b'{"op": "stop", "sid": 1}\n')
            ended = _wait_for_event(out, "ended", 10)
            assert ended, out.getvalue()
            assert time.monotonic() - asked < 5
        assert done.wait(10)
        conn.close()


def _wait_for_event(out: io.BytesIO, kind: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(json.loads(line)["ev"] == kind for line in out.getvalue().splitlines()):
            return True
        time.sleep(0.05)
    return False


def test_a_camera_clock_reset_is_a_discontinuity_not_hours_of_one_tick_frames() -> None:
    m = TimestampMender(3600)  # 25 fps at 90 kHz; a jump back of over a second re-bases
    assert m.mend(900_000, 900_000) == (900_000, 900_000)
    assert m.mend(3600, 3600) == (903_600, 903_600)  # the clock went back 10 s: shifted
    assert m.mend(7200, 7200) == (907_200, 907_200)  # and stays shifted, a frame apart
    assert m.discontinuities == 1 and m.bumped == 0
    assert m.mend(7200, 7200) == (907_201, 907_201)  # a repeat after it is still bumped


class _Said:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def said(self, line: str) -> None:
        self.lines.append(line)


class _Demuxer:
    def __init__(self, packets: list[int], error: Exception | None = None) -> None:
        self._packets, self._error = packets, error

    def demux(self, _video: object) -> Iterator[int]:
        yield from self._packets
        if self._error is not None:
            raise self._error


def test_a_session_says_why_its_stream_ended_even_at_a_plain_end_of_file() -> None:
    heard = _Said()
    assert list(_packets(_Demuxer([1, 2]), None, heard)) == [1, 2]  # type: ignore[arg-type]
    assert heard.lines == [END_OF_STREAM]
    heard = _Said()
    broken = _Demuxer([1], ConnectionResetError(104, "Connection reset by peer"))
    assert list(_packets(broken, None, heard)) == [1]  # type: ignore[arg-type]
    assert heard.lines == ["Connection reset by peer"]
