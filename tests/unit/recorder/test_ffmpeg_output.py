"""Reading what ffmpeg says: finished segments, the input, progress, and why it stopped."""

from __future__ import annotations

from pathlib import Path

from custos.adapters.media.ffmpeg_segmenter import (
    END_OF_STREAM,
    FRAGMENTED_MP4,
    classify_exit,
    parse_input_video,
    parse_list_line,
    parse_opening,
    segmenter_command,
)
from custos.domain.recording import OfflineReason
from custos.recorder.run_outcome import ended_detail, last_error


def test_a_segment_list_line_names_the_finished_file_and_its_media_times() -> None:
    listed = parse_list_line("000012.mp4,120.001719,130.041641\n")
    assert listed is not None
    assert (listed.name, listed.sequence) == ("000012.mp4", 12)
    assert (listed.media_start, listed.media_end) == (120.001719, 130.041641)


def test_a_garbled_list_line_is_ignored() -> None:
    assert parse_list_line("hello\n") is None
    assert parse_list_line("a.mp4,x,y") is None


def test_the_input_video_line_gives_codec_and_size() -> None:
    line = "  Stream #0:0: Video: h264 (High), yuv420p(progressive), 640x360 [SAR 1:1 DAR 16:9], 25 fps"
    video = parse_input_video(line)
    assert video is not None and (video.codec, video.width, video.height) == ("h264", 640, 360)
    hevc = parse_input_video("Stream #0:0: Video: hevc (Main), yuv420p(tv), 1920x1080, 25 fps")
    assert hevc is not None and hevc.codec == "hevc"


def test_opening_a_segment_file_is_recognised() -> None:
    assert parse_opening("[segment @ 0x55] Opening '/m/1/r/000003.mp4' for writing") == 3
    assert parse_opening("[segment @ 0x55] Opening 'pipe:1' for writing") is None


def test_the_command_copies_the_stream_into_fragmented_mp4_over_tcp() -> None:
    argv = segmenter_command("rtsp://u:p@cam/1", Path("/m/1/r"), 60, 5.0)
    assert argv[argv.index("-c") + 1] == "copy"
    assert argv[argv.index("-rtsp_transport") + 1] == "tcp"
    assert argv[argv.index("-timeout") + 1] == "5000000"
    options = argv[argv.index("-segment_format_options") + 1].split(":")
    assert options == [FRAGMENTED_MP4, "flush_packets=1"]  # a fragment on disk once written
    assert argv[argv.index("-segment_list") + 1] == "pipe:1"


def test_exit_reasons_are_read_from_the_log() -> None:
    assert classify_exit(["rtsp://x: Connection refused"], False) is OfflineReason.UNREACHABLE
    assert classify_exit(["method DESCRIBE failed: 401 Unauthorized"], False) is (
        OfflineReason.AUTH_FAILED
    )
    assert classify_exit(["Stream map '0:v:0' matches no streams."], False) is (
        OfflineReason.UNSUPPORTED_CODEC
    )
    assert classify_exit(["av_interleaved_write_frame(): No space left on device"], True) is (
        OfflineReason.STORAGE_FULL
    )
    assert classify_exit(["Exiting normally"], True) is OfflineReason.STREAM_ENDED


def test_the_error_shown_never_carries_the_stream_password() -> None:
    tail = ["rtsp://admin:s3cret@10.0.0.9:554/h264: Connection refused"]
    shown = last_error(tail)
    assert "s3cret" not in shown and "admin" not in shown
    assert shown.endswith("Connection refused")


#: ffmpeg 5.1's log when the camera went away after recording (GStreamer's server killed):
#: it exits 0, and no line is an error of the camera's.
FFMPEG_AT_END_OF_STREAM = [
    "ffmpeg stats and -progress period set to 1.",
    "  Stream #0:0: Video: h264 (High), yuv420p(progressive), 640x360, 25 fps, 90k tbn",
    "[segment @ 0x56423d009140] Opening '/media/1/run/000000.mp4' for writing",
    "Output #0, segment, to '/media/1/run/%06d.mp4':",
    "Stream mapping:",
    "[mp4 @ 0x56423d013540] pts has no value",
    "[segment @ 0x56423d009140] Non-monotonous DTS in output stream 0:0; changing to 1.",
    "video:258kB audio:0kB subtitle:0kB other streams:0kB global headers:0kB",
]


def test_a_stream_that_ended_says_so_whichever_engine_recorded_it() -> None:
    ended = OfflineReason.STREAM_ENDED
    assert classify_exit(FFMPEG_AT_END_OF_STREAM, True) is ended
    assert ended_detail(ended, FFMPEG_AT_END_OF_STREAM) == END_OF_STREAM  # ffmpeg: exits 0
    assert ended_detail(ended, [END_OF_STREAM]) == END_OF_STREAM  # what a PyAV session says
    broken = [*FFMPEG_AT_END_OF_STREAM[:4], "[rtsp @ 0x55d0] Connection reset by peer"]
    assert ended_detail(ended, broken) == "[rtsp] Connection reset by peer"
    assert ended_detail(OfflineReason.UNREACHABLE, []) == ""


def test_a_tcp_source_gets_its_demuxer_and_a_socket_timeout_but_no_rtsp_option() -> None:
    argv = segmenter_command("tcp://127.0.0.1:40001", Path("/m/1/r"), 60, 5.0, input_format="mpeg")
    assert "-rtsp_transport" not in argv
    assert argv[argv.index("-timeout") + 1] == "5000000"  # µs for the tcp protocol too
    assert argv[argv.index("-i") - 2 : argv.index("-i") + 2] == [
        "-f",
        "mpeg",
        "-i",
        "tcp://127.0.0.1:40001",
    ]
    rtsp = segmenter_command("rtsp://cam/1", Path("/m/1/r"), 60, 5.0)
    assert rtsp.index("-f") > rtsp.index("-i")  # only the output's format: RTSP says its own
