"""The ports of the bureau's inspections and rectification notices (docs/design/filing.md D6):
their repositories on the unit of work, the document store, the report renderer, and the
jurisdiction test both services share."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, Protocol

from custos.domain.codes import DivisionCode
from custos.domain.inspection import Inspection, InspectionState
from custos.domain.rectification import Notice, NoticeState
from custos.domain.users import Principal
from custos.services.ports import UnitOfWork


class Inspections(Protocol):
    def add(self, i: Inspection) -> Inspection: ...
    def get(self, inspection_id: int, for_update: bool = False) -> Inspection | None: ...
    def update(self, i: Inspection) -> None: ...
    def find(
        self,
        unit_ids: Collection[int] | None = None,
        states: Collection[InspectionState] | None = None,
    ) -> list[Inspection]: ...


class Rectifications(Protocol):
    def add(self, n: Notice) -> Notice: ...
    def get(self, notice_id: int, for_update: bool = False) -> Notice | None: ...
    def update(self, n: Notice) -> None: ...
    def find(
        self,
        unit_ids: Collection[int] | None = None,
        states: Collection[NoticeState] | None = None,
    ) -> list[Notice]: ...


class InspectionUnitOfWork(UnitOfWork, Protocol):
    @property
    def inspections(self) -> Inspections: ...
    @property
    def rectifications(self) -> Rectifications: ...


class Documents(Protocol):
    """The content-addressed document store."""

    def put(self, data: bytes) -> str: ...
    def path_of(self, digest: str) -> Path | None: ...


def read_document(documents: Documents, digest: str) -> bytes | None:
    path = documents.path_of(digest)
    return None if path is None else path.read_bytes()


ReportRenderer = Callable[[dict[str, Any]], bytes]


def in_jurisdiction(actor: Principal, division_codes: Sequence[str]) -> bool:
    """True when every division is inside the actor's jurisdiction (system: always; none: never)."""
    if actor.is_system:
        return True
    if actor.jurisdiction is None:
        return False
    mine = DivisionCode(actor.jurisdiction)
    return all(mine.contains(DivisionCode(code)) for code in division_codes)
