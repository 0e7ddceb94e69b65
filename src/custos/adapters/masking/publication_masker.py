"""The :class:`~custos.services.publication.Masker` on PyAV, onnxruntime and zipfile.

A delivered package's video is read from its ZIP (one case per camera video: the case names
its member; docs/design/evidence.md, "A multi-camera package"); detection proposes tracks; the
approved boxes and zones are rendered; the masked copy is written as a stored ZIP.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import av

from custos.adapters.masking.detectors import (
    CenterFaceDetector,
    Detector,
    PlateDetector,
    TextPlateDetector,
)
from custos.adapters.masking.video import EncodeSettings, frame_count, propose, render
from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.evidence import MANIFEST, VIDEO_DIR
from custos.domain.masking import Box, MaskMode, StaticZone, TrackerSettings
from custos.domain.publication import MAX_TRACKS, ProposedTrack, VideoFacts
from custos.services.publication_ports import MaskProposal

MAX_VIDEO_BYTES = 8 << 30
MAX_MANIFEST_BYTES = 64 << 20


def default_detectors() -> list[Detector]:
    """Faces; plates from the plate detector and from plate-shaped lines of text (it finds the
    yellow and green plates the plate detector misses; docs/design/evidence.md)."""
    return [CenterFaceDetector(), PlateDetector(), TextPlateDetector()]


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

    def videos(self, package: Path) -> list[str]:
        """The package's ``video/*.mp4`` members, sorted (one publication case each)."""
        with self._open(package) as archive:
            return sorted(i.filename for i in _videos(archive))

    def extract_video(
        self, package: Path, work: Path, member: str | None = None
    ) -> tuple[str, Path]:
        """``member`` of the package into ``work/source.mp4``; without a member, the package's
        only video (a package with several is refused naming ``source.video``)."""
        with self._open(package) as archive:
            videos = _videos(archive)
            if member is not None:
                videos = [i for i in videos if i.filename == member]
                if not videos:
                    raise ValidationFailed(
                        FieldError("source.video", f"no video {member} in the package")
                    )
            elif len(videos) != 1:
                raise ValidationFailed(
                    FieldError(
                        "source.video", f"name the video to mask: the package has {len(videos)}"
                    )
                )
            info = videos[0]
            if info.file_size > MAX_VIDEO_BYTES:
                raise ValidationFailed(FieldError("source.video", "larger than 8 GiB"))
            work.mkdir(parents=True, exist_ok=True)
            target = work / "source.mp4"
            with archive.open(info) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        return info.filename, target

    def _open(self, package: Path) -> zipfile.ZipFile:
        try:
            return zipfile.ZipFile(package)
        except zipfile.BadZipFile:
            raise ValidationFailed(FieldError("source", "not a ZIP package")) from None

    def read_manifest(self, package: Path) -> dict[str, Any]:
        """The delivered package's ``manifest.json`` (read, not verified: its hash is the case's)."""
        try:
            with zipfile.ZipFile(package) as archive:
                info = archive.getinfo(MANIFEST)
                if info.file_size > MAX_MANIFEST_BYTES:
                    raise ValidationFailed(FieldError("source.manifest", "larger than 64 MiB"))
                body = json.loads(archive.read(info))
        except (KeyError, ValueError, zipfile.BadZipFile):
            raise ValidationFailed(
                FieldError("source.manifest", "not a custos-evidence/1 package")
            ) from None
        if not isinstance(body, dict):
            raise ValidationFailed(FieldError("source.manifest", "not a JSON object"))
        return body

    def frame_jpeg(self, video: Path, index: int) -> bytes:
        """Frame ``index`` (from 0) of ``video`` as a JPEG, unmasked, for the reviewer."""
        with av.open(str(video)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if i == index:
                    out = io.BytesIO()
                    frame.to_image().save(  # type: ignore[no-untyped-call]
                        out, format="JPEG", quality=85
                    )
                    return out.getvalue()
        raise ValidationFailed(FieldError("frame", "past the video's last frame"))

    def propose(
        self, member: str, video: Path, progress: Callable[[int, int], None] | None = None
    ) -> MaskProposal:
        detectors = self._detectors()
        found = propose(
            video, detectors, self.detect_every, self.tracking, _counted(video, progress)
        )
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
        progress: Callable[[int, int], None] | None = None,
    ) -> str:
        render(
            video, target, lambda i, _: boxes.get(i, []), zones, mode, self.encode,
            progress=_counted(video, progress),
        )  # fmt: skip
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


def _videos(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    return [
        i for i in archive.infolist()
        if i.filename.startswith(VIDEO_DIR) and i.filename.endswith(".mp4")
    ]  # fmt: skip


def _counted(
    video: Path, progress: Callable[[int, int], None] | None
) -> Callable[[int], None] | None:
    """``progress(done, total)`` from the decoder's count of frames done."""
    if progress is None:
        return None
    total = frame_count(video)
    return lambda done: progress(done, total)
