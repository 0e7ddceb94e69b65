"""A copy for public dissemination: proposal → review → release (docs/design/evidence.md).

Detection proposes tracks (boxes per frame range); a reviewer holding ``publication.review``
removes false tracks, adds regions and static zones, confirms what no detector covers (the names
and business licences of organisations, individual features other than faces) and approves.
Only an approved case is rendered; the masked copy is a package of its own whose manifest names
the original package's SHA-256 and the masking settings. The original is never altered.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from custos.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from custos.domain.masking import Box, MaskKind, MaskMode, StaticZone
from custos.domain.publication_job import FailureCode, JobActor, JobStage, PublicationJob
from custos.domain.rules.publication import PublicationDuty
from custos.domain.rules.terms import MaskTarget

PUBLICATION_FORMAT = "custos-publication/1"
MAX_TRACKS = 10_000
MAX_REGIONS = 1_000
MAX_ZONES = 50
MAX_PURPOSE = 500

# what each detector kind covers; the rest is confirmed by the reviewer
_DETECTED = {MaskKind.FACE: MaskTarget.FACES, MaskKind.PLATE: MaskTarget.PLATES}
_CONFIRMABLE = frozenset({MaskTarget.ORGANISATION_NAMES, MaskTarget.INDIVIDUAL_FEATURES})


class PublicationState(enum.StrEnum):
    DETECTING = "detecting"  # the proposal's job, queued or running
    PROPOSED = "proposed"
    APPROVED = "approved"
    RENDERING = "rendering"  # the release's job, queued or running
    RELEASED = "released"
    FAILED = "failed"  # a job failed: ``job.reason``; retried back to its stage


_STAGE_STATE = {
    JobStage.DETECT: PublicationState.DETECTING,
    JobStage.RENDER: PublicationState.RENDERING,
}


@dataclass(frozen=True, slots=True)
class ProposedTrack:
    id: int
    kind: MaskKind
    frames: tuple[tuple[int, Box], ...]

    @property
    def first(self) -> int:
        return self.frames[0][0] if self.frames else 0

    @property
    def last(self) -> int:
        return self.frames[-1][0] if self.frames else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind.value, "first_frame": self.first,
            "last_frame": self.last,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class AddedRegion:
    """A rectangle the reviewer drew, masked from ``first_frame`` to ``last_frame`` inclusive.
    ``id`` is given by the case when it is added (never reused within the case)."""

    first_frame: int
    last_frame: int
    box: Box
    note: str = ""
    id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "first_frame": self.first_frame, "last_frame": self.last_frame,
            "box": self.box.as_list(), "note": self.note,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class VideoFacts:
    name: str  # the member of the original package, ``video/…mp4``
    width: int
    height: int
    fps: str  # "25" or "30000/1001"
    frames: int


@dataclass
class PublicationCase:
    id: int | None
    source_sha256: str  # the original package, as delivered
    source_name: str
    division_code: str
    purpose: str
    requested_by: int | None
    requested_by_name: str
    requested_at: datetime
    required: dict[MaskTarget, tuple[str, ...]]  # target → rule ids, from the packs
    video: VideoFacts
    tracks: list[ProposedTrack]
    settings: dict[str, Any]  # detectors (names, versions, thresholds), tracking, detect_every
    mode: MaskMode = MaskMode.PIXELATE
    state: PublicationState = PublicationState.PROPOSED
    removed_tracks: set[int] = field(default_factory=set)
    regions: list[AddedRegion] = field(default_factory=list)
    zones: list[StaticZone] = field(default_factory=list)
    confirmed: frozenset[MaskTarget] = frozenset()
    reviewer_id: int | None = None
    reviewer_name: str = ""
    reviewed_at: datetime | None = None
    masked_sha256: str | None = None
    package_sha256: str | None = None
    released_at: datetime | None = None
    export_id: int | None = None  # the staff export or delivered package it was made from
    job: PublicationJob | None = None  # detection or rendering in the background
    next_region_id: int = 0  # the id the next region added gets; ids are never reused
    request_id: int | None = None  # the access request for publication it was opened for
    #: the original's video it masks (``video/…mp4``); None: the package's only video (a case
    #: stored before multi-camera packages, or a one-video package)
    member: str | None = None

    @property
    def source_work(self) -> str:
        """The folder name, under the work dir, of the extracted original video (one per
        original and member, shared by detection and the reviewer's frames)."""
        base = f"source-{self.source_sha256[:16]}"
        if self.member is None:
            return base
        return f"{base}-{self.member.removeprefix('video/').removesuffix('.mp4')}"

    @property
    def package_name(self) -> str | None:
        """The masked package's file name, once released."""
        if self.masked_sha256 is None:
            return None
        return f"publication-{self.id}-{self.masked_sha256[:12]}.zip"

    def kept_tracks(self) -> list[ProposedTrack]:
        return [t for t in self.tracks if t.id not in self.removed_tracks]

    def boxes_at(self, frame: int) -> list[tuple[str, Box]]:
        """What will be masked on ``frame``: (source, box) with source ``track:<id>`` or
        ``region:<id>``."""
        found: list[tuple[str, Box]] = []
        for track in self.kept_tracks():
            if track.first <= frame <= track.last:
                found += [(f"track:{track.id}", b) for i, b in track.frames if i == frame]
        for region in self.regions:
            if region.first_frame <= frame <= region.last_frame:
                found.append((f"region:{region.id}", region.box))
        return found

    def boxes_per_frame(self) -> dict[int, list[Box]]:
        per_frame: dict[int, list[Box]] = {}
        for track in self.kept_tracks():
            for index, box in track.frames:
                per_frame.setdefault(index, []).append(box)
        for region in self.regions:
            last = min(region.last_frame, self.video.frames - 1)
            for index in range(region.first_frame, last + 1):
                per_frame.setdefault(index, []).append(region.box)
        return per_frame

    def edit(
        self,
        remove_tracks: set[int] = frozenset(),  # type: ignore[assignment]
        restore_tracks: set[int] = frozenset(),  # type: ignore[assignment]
        add_regions: list[AddedRegion] | None = None,
        zones: list[StaticZone] | None = None,
    ) -> dict[str, Any]:
        """The reviewer's changes; only while proposed. Returns what changed (the detail of
        the log entry ``publication.review``; empty when nothing did): tracks removed and
        restored, regions added with their new ids, zones added and removed."""
        self.expect(PublicationState.PROPOSED)
        known = {t.id for t in self.tracks}
        unknown = sorted((remove_tracks | restore_tracks) - known)
        if unknown:
            raise ValidationFailed(FieldError("tracks", f"no such track: {unknown}"))
        errors = []
        for n, region in enumerate(add_regions or []):
            if not 0 <= region.first_frame <= region.last_frame < self.video.frames:
                errors.append(FieldError(f"regions[{n}]", "frames outside the clip"))
            if region.box.x1 > self.video.width or region.box.y1 > self.video.height:
                errors.append(FieldError(f"regions[{n}].box", "outside the frame"))
        if errors:
            raise ValidationFailed(errors)
        if len(self.regions) + len(add_regions or []) > MAX_REGIONS:
            raise ValidationFailed(FieldError("regions", f"at most {MAX_REGIONS}"))
        if zones is not None and len(zones) > MAX_ZONES:
            raise ValidationFailed(FieldError("zones", f"at most {MAX_ZONES}"))
        before = self.removed_tracks
        self.removed_tracks = (self.removed_tracks | remove_tracks) - restore_tracks
        added = []
        for region in add_regions or []:
            added.append(replace(region, id=self.next_region_id))
            self.next_region_id += 1
        self.regions += added
        changes: dict[str, Any] = {
            "tracks_removed": sorted(self.removed_tracks - before),
            "tracks_restored": sorted(before - self.removed_tracks),
            "regions_added": [r.as_dict() for r in added],
        }
        if zones is not None:
            old, new = self.zones, list(zones)
            changes["zones_added"] = [z.as_dict() for z in new if z not in old]
            changes["zones_removed"] = [z.as_dict() for z in old if z not in new]
            self.zones = new
        return {k: v for k, v in changes.items() if v}

    def remove_region(self, region_id: int) -> AddedRegion:
        """Take back the added region with ``region_id`` (the ``region:<id>`` of
        :meth:`boxes_at`); the others keep their ids. Only while proposed."""
        self.expect(PublicationState.PROPOSED)
        for n, region in enumerate(self.regions):
            if region.id == region_id:
                return self.regions.pop(n)
        raise NotFound("region", region_id)

    def covered(self, confirmed: frozenset[MaskTarget]) -> frozenset[MaskTarget]:
        """Targets the copy masks: those a detector ran for, plus what the reviewer confirms."""
        detected = {
            _DETECTED[MaskKind(d["kind"])]
            for d in self.settings.get("detectors", [])
            if MaskKind(d["kind"]) in _DETECTED
        }
        return frozenset(detected) | (confirmed & _CONFIRMABLE)

    def approve(
        self,
        reviewer_id: int | None,
        reviewer_name: str,
        at: datetime,
        confirmed: frozenset[MaskTarget],
        duty: PublicationDuty,
    ) -> None:
        self.expect(PublicationState.PROPOSED)
        if reviewer_id is not None and reviewer_id == self.requested_by:
            raise ValidationFailed(
                FieldError("reviewer", "the reviewer must not be who asked for the publication")
            )
        duty.check(self.covered(confirmed), field="review.confirmed")
        self.confirmed = confirmed & _CONFIRMABLE
        self.reviewer_id, self.reviewer_name, self.reviewed_at = reviewer_id, reviewer_name, at
        self.state = PublicationState.APPROVED

    def approval_detail(self) -> dict[str, Any]:
        """The detail of the log entry ``publication.approve``: what the reviewer confirmed,
        what the copy then covers against what the packs require, and the reviewed state."""
        return {
            "confirmed": sorted(t.value for t in self.confirmed),
            "covered": sorted(t.value for t in self.covered(self.confirmed)),
            "required": {t.value: list(r) for t, r in sorted(self.required.items())},
            "tracks_kept": len(self.kept_tracks()),
            "tracks_removed": sorted(self.removed_tracks),
            "regions": [r.id for r in self.regions],
            "zones": len(self.zones),
        }

    def detected(
        self, video: VideoFacts, tracks: list[ProposedTrack], settings: dict[str, Any]
    ) -> None:
        """Detection's job done: the proposal, to be reviewed."""
        self.expect(PublicationState.DETECTING)
        self.video, self.tracks, self.settings = video, tracks, settings
        self.state = PublicationState.PROPOSED

    def start_render(self, by: JobActor) -> None:
        """The release asked for: rendering in the background, by ``by`` (a reviewer)."""
        self.expect(PublicationState.APPROVED)
        self.job = PublicationJob(JobStage.RENDER, by, source=self.job.source if self.job else None)
        self.state = PublicationState.RENDERING

    @property
    def job_state(self) -> PublicationState | None:
        """The state the case is in while its job runs (None without a job)."""
        return None if self.job is None else _STAGE_STATE[self.job.stage]

    def fail(self, code: FailureCode, detail: str, at: datetime) -> None:
        assert self.job is not None
        self.expect(_STAGE_STATE[self.job.stage])
        self.job.failed(code, detail, at)
        self.state = PublicationState.FAILED

    def retry(self, by: JobActor) -> None:
        """A failed job queued again, from the start of its stage."""
        self.expect(PublicationState.FAILED)
        assert self.job is not None
        self.job.by, self.job.reason, self.job.detail = by, None, ""
        self.state = _STAGE_STATE[self.job.stage]

    def released(self, masked_sha256: str, package_sha256: str, at: datetime) -> None:
        self.expect(PublicationState.RENDERING)
        self.masked_sha256, self.package_sha256, self.released_at = (
            masked_sha256, package_sha256, at,
        )  # fmt: skip
        self.state = PublicationState.RELEASED

    def masking_settings(self) -> dict[str, Any]:
        """What the manifest records: detectors, tracking, zones, edits, reviewer."""
        return {
            **self.settings,
            "mode": self.mode.value,
            "zones": [z.as_dict() for z in self.zones],
            "tracks_proposed": len(self.tracks),
            "tracks_removed": sorted(self.removed_tracks),
            "regions_added": [r.as_dict() for r in self.regions],
            "confirmed_by_reviewer": sorted(t.value for t in self.confirmed),
            "reviewer": self.reviewer_name,
            "reviewed_at": self.reviewed_at.isoformat() if self.reviewed_at else None,
        }

    def expect(self, state: PublicationState) -> None:
        if self.state is not state:
            raise Conflict("state", f"the publication is {self.state.value}, not {state.value}")
