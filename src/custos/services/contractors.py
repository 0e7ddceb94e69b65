"""Contractors that operate or maintain a unit's system, and their entrustment agreements
(委托…双方应当明确保证系统安全运行的责任: Decree 799 art. 15 ¶2, Beijing art. 12 ¶2, Liaoning
art. 14 ¶2, Chongqing art. 20 ¶2, Xi'an art. 22 ¶2).

Reading needs ``duty.read``, writing ``duty.manage``; every write enters the operation log.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from custos.domain.access import Permission
from custos.domain.calendar import shanghai_date
from custos.domain.clock import Clock
from custos.domain.errors import FieldError, NotFound, ValidationFailed
from custos.domain.maintenance import Contractor, EntrustmentAgreement, check_agreement
from custos.domain.users import Principal
from custos.services.ports import UnitOfWork
from custos.services.refusals import refusals_logged
from custos.services.unit_records import record_write, unit_in_reach


class ContractorRecords(Protocol):
    def add(self, c: Contractor) -> Contractor: ...
    def set_maintains(self, contractor_id: int, maintains: bool) -> None: ...
    def get(self, contractor_id: int) -> Contractor | None: ...
    def find(self, unit_ids: Sequence[int]) -> list[Contractor]: ...
    def add_agreement(self, a: EntrustmentAgreement) -> EntrustmentAgreement: ...
    def agreements(self, contractor_ids: Sequence[int]) -> list[EntrustmentAgreement]: ...


class ContractorUnitOfWork(UnitOfWork, Protocol):
    @property
    def contractors(self) -> ContractorRecords: ...


@dataclass(frozen=True)
class AgreementInput:
    signed_on: date
    valid_from: date
    valid_until: date | None
    scope: str
    document_sha256: str


class ContractorService:
    def __init__(self, uow: Callable[[], ContractorUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def add(self, actor: Principal, unit_id: int, name: str, maintains: bool) -> Contractor:
        actor.require(Permission.DUTY_MANAGE)
        now = self._clock.now()
        logged = refusals_logged(self._uow, self._clock, actor, "contractor.add", "unit", unit_id)
        with logged, self._uow() as uow:
            unit_in_reach(uow, actor, unit_id)
            if not name.strip():
                raise ValidationFailed(FieldError("name", "name the contractor"))
            contractor = uow.contractors.add(
                Contractor(None, unit_id, name.strip(), maintains, actor.username, now)
            )
            record_write(
                uow, actor, now, "contractor.add", "contractor", contractor.id,
                contractor.as_dict(),
            )  # fmt: skip
            uow.commit()
        return contractor

    def set_maintains(self, actor: Principal, contractor_id: int, maintains: bool) -> Contractor:
        actor.require(Permission.DUTY_MANAGE)
        now = self._clock.now()
        logged = refusals_logged(
            self._uow, self._clock, actor, "contractor.maintains", "contractor", contractor_id
        )
        with logged, self._uow() as uow:
            found = self._contractor(uow, actor, contractor_id)
            uow.contractors.set_maintains(contractor_id, maintains)
            after = dataclasses.replace(found, maintains=maintains)
            record_write(
                uow, actor, now, "contractor.maintains", "contractor", contractor_id,
                after.as_dict(),
            )  # fmt: skip
            uow.commit()
        return after

    def record_agreement(
        self, actor: Principal, contractor_id: int, data: AgreementInput
    ) -> EntrustmentAgreement:
        actor.require(Permission.DUTY_MANAGE)
        now = self._clock.now()
        logged = refusals_logged(
            self._uow, self._clock, actor, "agreement.record", "contractor", contractor_id
        )
        with logged, self._uow() as uow:
            self._contractor(uow, actor, contractor_id)
            agreement = EntrustmentAgreement(
                None, contractor_id, data.signed_on, data.valid_from, data.valid_until,
                data.scope.strip(), data.document_sha256.strip().lower(), actor.username, now,
            )  # fmt: skip
            if errors := check_agreement(agreement, shanghai_date(now)):
                raise ValidationFailed(errors)
            agreement = uow.contractors.add_agreement(agreement)
            record_write(
                uow, actor, now, "agreement.record", "entrustment_agreement", agreement.id,
                agreement.as_dict(),
            )  # fmt: skip
            uow.commit()
        return agreement

    def contractors(
        self, actor: Principal, unit_id: int
    ) -> list[tuple[Contractor, list[EntrustmentAgreement]]]:
        actor.require(Permission.DUTY_READ)
        with self._uow() as uow:
            unit_in_reach(uow, actor, unit_id)
            found = uow.contractors.find([unit_id])
            agreements = uow.contractors.agreements([c.id or 0 for c in found]) if found else []
            return [(c, [a for a in agreements if a.contractor_id == c.id]) for c in found]

    @staticmethod
    def _contractor(uow: ContractorUnitOfWork, actor: Principal, contractor_id: int) -> Contractor:
        found = uow.contractors.get(contractor_id)
        if found is None:
            raise NotFound("contractor", contractor_id)
        try:
            unit_in_reach(uow, actor, found.unit_id)
        except NotFound:
            raise NotFound("contractor", contractor_id) from None
        return found
