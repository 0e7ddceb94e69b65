"""What the masked copy's custos-evidence/1 manifest states, from the case and the original's
manifest; an original whose manifest does not describe the video is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from custos.domain.errors import ValidationFailed
from custos.domain.evidence import PackageKind, PackedFile
from custos.domain.publication import PublicationCase, VideoFacts
from custos.domain.rules.terms import MaskTarget
from custos.services.publication_package import publication_order

MEMBER = "video/61011300001320000001.mp4"
H = "ab" * 32


def _case() -> PublicationCase:
    return PublicationCase(
        id=4, source_sha256="cd" * 32, source_name="export-1.zip", division_code="610113",
        purpose="公开通报", requested_by=1, requested_by_name="manager",
        requested_at=datetime(2026, 12, 7, 3, tzinfo=UTC),
        required={MaskTarget.FACES: ("national-2025:art22",)},
        video=VideoFacts(MEMBER, 1280, 720, "25", 25), tracks=[], settings={"detectors": []},
    )  # fmt: skip


def _original() -> dict[str, Any]:
    r = {"start": "2026-12-07T02:00:00Z", "end": "2026-12-07T02:00:10Z"}
    return {
        "kind": "export", "register_entry_id": "9", "unit": {"name": "曲江商场", "credit_code": None},
        "range_asked": r, "files": [{"name": MEMBER, "sha256": H, "bytes": 10}],
        "cameras": [{"id": "3", "address_code": "61011300001320000001", "name": "东门",
                     "site": "商场", "file": MEMBER, "range_delivered": r}],
    }  # fmt: skip


def test_the_order_names_the_original_and_lists_the_masked_file_under_the_camera() -> None:
    masked = (PackedFile("video/61011300001320000001-masked.mp4", "ef" * 32, 5), Path("m.mp4"))
    order = publication_order(_case(), _original(), MEMBER, masked, 12, "publication-4-efef")
    assert order.kind is PackageKind.PUBLICATION and order.register_entry_id == 12
    (camera,) = order.cameras
    assert camera.file == masked[0].name and camera.as_dict()["file"] == masked[0].name
    (source,) = order.sources
    assert (source.path, source.sha256) == (MEMBER, H)
    assert order.extra["original"]["package_sha256"] == "cd" * 32
    assert order.extra["original"]["register_entry_id"] == "9"
    assert order.detail["original_sha256"] == "cd" * 32


@pytest.mark.parametrize("broken", ["cameras", "range_asked", "files"])
def test_an_original_manifest_that_does_not_describe_the_video_is_refused(broken: str) -> None:
    original = _original()
    del original[broken]
    masked = (PackedFile("video/x-masked.mp4", "ef" * 32, 5), Path("m.mp4"))
    with pytest.raises(ValidationFailed) as refused:
        publication_order(_case(), original, MEMBER, masked, 12, "publication-4-efef")
    assert refused.value.errors[0].field == "source.manifest"
