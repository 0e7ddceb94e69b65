"""How the recorder names what went wrong with a camera, and how long it waits to try again."""

from __future__ import annotations

import pytest

from custos.adapters.media.ffmpeg_segmenter import classify_exit, parse_input_stream
from custos.domain.recording import OfflineReason
from custos.recorder.backoff import Backoff
from custos.recorder.main import min_free_bytes


def test_a_peer_that_answers_junk_is_a_protocol_error_not_unreachable() -> None:
    tail = [
        "[rtsp @ 0x1] CSeq 1 expected, 0 received.",
        "<stream>: Invalid data found when processing input",
    ]
    assert classify_exit(tail, False) is OfflineReason.PROTOCOL_ERROR
    assert classify_exit(tail, True) is OfflineReason.STREAM_ENDED  # after media: it ended


def test_a_time_out_is_unreachable_before_media_and_stalled_after() -> None:
    tail = ["<stream>: Connection timed out"]
    assert classify_exit(tail, False) is OfflineReason.UNREACHABLE
    assert classify_exit(tail, True) is OfflineReason.STALLED
    assert classify_exit(["<stream>: Connection refused"], True) is OfflineReason.STREAM_ENDED


def test_input_streams_of_every_kind_are_recognised() -> None:
    assert parse_input_stream("  Stream #0:0: Audio: opus, 48000 Hz, stereo") == "audio opus"
    assert parse_input_stream("  Stream #0:1: Video: mjpeg (Baseline), yuvj420p") == "video mjpeg"
    assert parse_input_stream("  Stream #0:0 -> #0:0 (copy)") is None
    assert parse_input_stream("Input #0, rtsp, from '<stream>':") is None


def test_an_absent_camera_is_probed_every_quarter_second_in_the_first_minute_then_each_second() -> (
    None
):
    policy = Backoff()
    unreachable = OfflineReason.UNREACHABLE
    waits = [
        policy.next(0.25, False, unreachable, before_engine=True, outage_s=t)
        for t in (0.0, 30.0, 59.9, 60.0, 3600.0)
    ]
    assert waits == [0.25, 0.25, 0.25, 1.0, 1.0]
    # a run that recorded is retried at once (one probe interval), whatever came before
    assert policy.next(3.0, True, OfflineReason.STREAM_ENDED, outage_s=0.0) == 0.25


def test_a_camera_that_answers_without_a_stream_backs_off_to_1_s_then_3_s() -> None:
    policy = Backoff()

    def waits(outage_s: float) -> list[float]:
        found, wait = [], policy.probe_fast_s
        for _ in range(5):
            wait = policy.next(wait, False, OfflineReason.PROTOCOL_ERROR, outage_s=outage_s)
            found.append(wait)
        return found

    assert waits(0.0) == [0.5, 1.0, 1.0, 1.0, 1.0]
    assert waits(120.0) == [0.5, 1.0, 2.0, 3.0, 3.0]


@pytest.mark.parametrize("reason", [OfflineReason.AUTH_FAILED, OfflineReason.UNSUPPORTED_CODEC])
def test_after_a_refusal_the_backoff_grows_to_30_s(reason: OfflineReason) -> None:
    policy = Backoff()
    wait = policy.first_s
    for _ in range(10):
        wait = policy.next(wait, False, reason)
    assert wait == policy.refused_max_s == 30.0


def test_the_minimum_free_space_comes_from_the_environment_in_mib() -> None:
    assert min_free_bytes({}) == 256 * 2**20
    assert min_free_bytes({"CUSTOS_RECORDER_MIN_FREE_MB": "1024"}) == 2**30
    assert min_free_bytes({"CUSTOS_RECORDER_MIN_FREE_MB": "0"}) == 0
    for bad in ("1.5", "-1", "lots"):
        with pytest.raises(SystemExit, match="CUSTOS_RECORDER_MIN_FREE_MB"):
            min_free_bytes({"CUSTOS_RECORDER_MIN_FREE_MB": bad})
