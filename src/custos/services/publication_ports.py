"""The ports of the publication services (``services/publication.py``, ``publication_jobs.py``):
the masker, the export key, the sealer and the case store, alone or in the unit of work."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from custos.domain.masking import Box, MaskMode, StaticZone
from custos.domain.publication import (
    ProposedTrack,
    PublicationCase,
    PublicationState,
    VideoFacts,
)
from custos.domain.users import Principal
from custos.services.evidence import BuiltEvidence
from custos.services.evidence_seal import SealOrder
from custos.services.ports import AccessUnitOfWork


@dataclass(frozen=True)
class MaskProposal:
    video: VideoFacts
    tracks: list[ProposedTrack]
    settings: dict[str, Any]


Progress = Callable[[int, int], None]  # frames done, total; may raise to stop the job


class Masker(Protocol):
    """Reads delivered packages and masks video (adapters/masking/publication_masker.py)."""

    def digest(self, path: Path) -> str: ...
    def videos(self, package: Path) -> list[str]: ...
    def extract_video(
        self, package: Path, work: Path, member: str | None = None
    ) -> tuple[str, Path]: ...
    def read_manifest(self, package: Path) -> dict[str, Any]: ...
    def frame_jpeg(self, video: Path, index: int) -> bytes: ...
    def propose(
        self, member: str, video: Path, progress: Progress | None = None
    ) -> MaskProposal: ...
    def render(
        self,
        video: Path,
        target: Path,
        boxes: dict[int, list[Box]],
        zones: Sequence[StaticZone],
        mode: MaskMode,
        progress: Progress | None = None,
    ) -> str: ...
    def write_package(
        self, target: Path, files: Sequence[tuple[str, Path]], data: Sequence[tuple[str, bytes]]
    ) -> str: ...


class Signer(Protocol):
    """The export key (adapters/evidence_keys.py ``ExportSigner``)."""

    @property
    def public_key(self) -> bytes: ...
    def sign(self, message: bytes) -> bytes: ...


class Sealer(Protocol):
    """services/evidence_seal.py ``EvidenceSealer``: the custos-evidence/1 chain."""

    def seal(
        self, uow: AccessUnitOfWork, actor: Principal, order: SealOrder, dst: Path, work: Path
    ) -> BuiltEvidence: ...


class Publications(Protocol):
    def add(self, case: PublicationCase) -> PublicationCase: ...
    def get(self, case_id: int) -> PublicationCase | None: ...
    def update(self, case: PublicationCase) -> None: ...
    def latest(self, limit: int, requested_by: int | None = None) -> list[PublicationCase]: ...
    def pending(self) -> list[int]: ...
    def update_if(self, case: PublicationCase, state: PublicationState, attempt: int) -> bool:
        """Write ``case`` only while the stored one is ``state`` at job ``attempt``."""
        ...


class PublicationUnitOfWork(AccessUnitOfWork, Protocol):
    @property
    def publications(self) -> Publications: ...


class PublicationUnitOfWorkFactory(Protocol):
    def __call__(self) -> PublicationUnitOfWork: ...
