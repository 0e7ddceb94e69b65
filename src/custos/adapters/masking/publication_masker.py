"""The :class:`~custos.services.publication.Masker` on PyAV, onnxruntime and zipfile.

A delivered package's video is read from its ZIP (one camera per publication: a package with
several ``video/*.mp4`` is refused naming ``source.video``); detection proposes tracks; the
approved boxes and zones are rendered; the masked copy is written as a stored ZIP.
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from custos.adapters.masking.detectors import CenterFaceDetector, Detector, PlateDetector
from custos.adapters.masking.video import EncodeSettings, propose, render
from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.evidence import VIDEO_DIR
from custos.domain.masking import Box, MaskMode, StaticZone, TrackerSettings
from custos.domain.publication import MAX_TRACKS, ProposedTrack, VideoFacts
from custos.services.publication import MaskProposal

MAX_VIDEO_BYTES = 8 << 30


def default_detectors() -> list[Detector]:
    return [CenterFaceDetector(), PlateDetector()]


class PublicationMasker:
    def __init__(
        self,
        detectors: Callable[[], list[Detector]] = default_detectors,
        detect_every: int = 5,
        tracking: TrackerSettings | None = None,
        encode: EncodeSettings | None = None,
    ) -> None:
        self._detectors = detectors
        self.detect_every = detect_every
        self.tracking = tracking or TrackerSettings()
        self.encode = encode or EncodeSettings()

    def digest(self, path: Path) -> str:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def extract_video(self, package: Path, work: Path) -> tuple[str, Path]:
        try:
            archive = zipfile.ZipFile(package)
        except zipfile.BadZipFile:
            raise ValidationFailed(FieldError("source", "not a ZIP package")) from None
        with archive:
            videos = [
                i for i in archive.infolist()
                if i.filename.startswith(VIDEO_DIR) and i.filename.endswith(".mp4")
            ]  # fmt: skip
            if len(videos) != 1:
                raise ValidationFailed(
                    FieldError("source.video", f"one camera per publication, found {len(videos)}")
                )
            (member,) = videos
            if member.file_size > MAX_VIDEO_BYTES:
                raise ValidationFailed(FieldError("source.video", "larger than 8 GiB"))
            work.mkdir(parents=True, exist_ok=True)
            target = work / "source.mp4"
            with archive.open(member) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        return member.filename, target

    def propose(self, member: str, video: Path) -> MaskProposal:
        detectors = self._detectors()
        found = propose(video, detectors, self.detect_every, self.tracking)
        if len(found.tracks) > MAX_TRACKS:
            raise ValidationFailed(FieldError("tracks", f"more than {MAX_TRACKS} proposed"))
        tracks = [ProposedTrack(t.id, t.kind, tuple(t.frames)) for t in found.tracks]
        fps = found.fps
        facts = VideoFacts(
            member, found.width, found.height,
            str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}",
            found.frames,
        )  # fmt: skip
        settings = {
            "detectors": found.detectors,
            "detect_every": found.detect_every,
            "tracking": self.tracking.as_dict(),
            "encode": {"codec": "libx264", "crf": self.encode.crf, "preset": self.encode.preset},
        }
        return MaskProposal(facts, tracks, settings)

    def render(
        self,
        video: Path,
        target: Path,
        boxes: dict[int, list[Box]],
        zones: Sequence[StaticZone],
        mode: MaskMode,
    ) -> str:
        render(video, target, lambda i, _: boxes.get(i, []), zones, mode, self.encode)
        return self.digest(target)

    def write_package(
        self, target: Path, files: Sequence[tuple[str, Path]], data: Sequence[tuple[str, bytes]]
    ) -> str:
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            for name, body in data:
                archive.writestr(name, body)
            for name, path in files:
                archive.write(path, name)
        return self.digest(target)
