"""Publication cases kept in SQLite and PostgreSQL; the release registered and logged for real."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from custos.adapters.db.publication_repositories import SqlPublications
from custos.adapters.masking.publication_masker import PublicationMasker
from custos.adapters.rulepack_loader import load_rulebook
from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.masking import Box, StaticZone
from custos.domain.publication import AddedRegion
from custos.domain.register import RegisterKind, RegisterQuery
from custos.domain.rules.terms import MaskTarget
from custos.domain.users import Principal
from custos.services.publication import RELEASE_ACTION, PublicationService
from custos.services.publication_jobs import PublicationJobs
from tests.integration.masking.clips import write_clip
from tests.integration.masking.test_publication_flow import Signer

pytestmark = pytest.mark.slow  # detection and H.264 encoding of a 720p clip

# no user rows: these principals act without user ids (the four-eyes rule is tested with fakes)
REQUESTER = Principal(None, "manager", Role.UNIT_MANAGER, None)
REVIEWER = Principal(None, "reviewer", Role.APPROVER, None)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("publication-db")
    clip = write_clip(folder / "clip.mp4", seconds=0.6)
    target = folder / "export.zip"
    with zipfile.ZipFile(target, "w") as archive:
        archive.write(clip, "video/61011300001320000001.mp4")
    return target


def test_a_case_survives_the_database_and_its_release_is_registered_and_logged(
    container: Container, package: Path, tmp_path: Path
) -> None:
    store = SqlPublications(container.engine)
    service = PublicationService(
        store, container.uow, load_rulebook(), PublicationMasker(), Signer, tmp_path,
        container.clock,
    )  # fmt: skip
    asked = service.request(REQUESTER, package, "110105", "news", list(MaskTarget))
    assert asked.id is not None and asked.state.value == "detecting"
    jobs = PublicationJobs(service)
    assert jobs.run_pending() == 1
    case = service.get(REVIEWER, asked.id)
    assert case.id is not None and case.state.value == "proposed"
    edited = service.edit(
        REVIEWER, case.id, add_regions=[AddedRegion(0, 5, Box(10, 10, 50, 50), "sign")],
        zones=[StaticZone(0.1, 0.1, 0.2, 0.2, "营业执照")],
    )  # fmt: skip
    again = store.get(case.id)
    assert again is not None
    assert again.tracks == case.tracks and again.regions == edited.regions != []
    assert again.zones[0].label == "营业执照" and again.video == case.video
    service.approve(REVIEWER, case.id, [MaskTarget.ORGANISATION_NAMES])
    assert service.release(REVIEWER, case.id, package).state.value == "rendering"
    assert jobs.run_pending() == 1
    stored = store.get(case.id)
    assert stored is not None and stored.state.value == "released"
    assert stored.package_name is not None
    released = tmp_path / stored.package_name
    assert stored.package_sha256 == PublicationMasker().digest(released)
    with container.uow() as uow:
        (entry,) = uow.register.find(RegisterQuery(kind=RegisterKind.PUBLICATION))
        events = [e for _, e in uow.audit.find(limit=1000) if e.action == RELEASE_ACTION]
    assert entry.output_sha256 == stored.package_sha256
    (event,) = events
    with zipfile.ZipFile(released) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert event.detail["original_sha256"] == manifest["original"]["package_sha256"]
