"""Service input dataclasses carrying an ID-card number, a password or a stream URL keep it out
of their repr (and so out of any log line or traceback that prints them)."""

from __future__ import annotations

from datetime import date

from custos.domain.gb_cascade import Transport
from custos.domain.staff import StaffRole
from custos.services.gb_cascade import PlatformInput
from custos.services.gb_devices import DeviceInput
from custos.services.registry import CameraInput
from custos.services.staff import MemberInput


def test_member_input_repr_omits_the_id_number() -> None:
    member = MemberInput("张三", StaffRole.MONITORING, "11010519491231002X", date(2025, 1, 2))
    assert "11010519491231002X" not in repr(member)
    assert "张三" in repr(member)


def test_gb_inputs_repr_omit_the_password() -> None:
    platform = PlatformInput("up", "34020000002000000001", "3402000000", "10.0.0.1", 5060,
                             Transport.UDP, "s3cr3t-pw", 3600, 60, True)  # fmt: skip
    device = DeviceInput("34020000001320000001", 1, "nvr", "d3v-pw")
    assert "s3cr3t-pw" not in repr(platform)
    assert "d3v-pw" not in repr(device)


def test_camera_input_repr_omits_the_stream_urls() -> None:
    camera = CameraInput(1, "A1", "door", ["entrance"],
                         main_stream_url="rtsp://admin:hunter2@10.0.0.9/main",
                         sub_stream_url="rtsp://10.0.0.9/sub?password=hunter3")  # fmt: skip
    assert "hunter2" not in repr(camera)
    assert "hunter3" not in repr(camera)
