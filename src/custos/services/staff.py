"""The staff archive (监看人员档案) and trainings of a unit's monitoring and O&M staff.

Reading needs ``duty.read``, writing ``duty.manage``; a unit manager or operator reaches only
their own unit. Every write enters the operation log; the ID-card number never does (only its
masked form). Whether a person counts as trained is :func:`custos.domain.staff.is_trained`
against the duties of the site's packs (``EffectiveRules.operating``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from custos.domain.access import Permission
from custos.domain.calendar import shanghai_date
from custos.domain.clock import Clock
from custos.domain.errors import FieldError, NotFound, ValidationFailed
from custos.domain.registry import Site
from custos.domain.rules import RuleBook
from custos.domain.rules.terms import TrainingContent
from custos.domain.staff import (
    StaffMember,
    StaffRole,
    TrainedVerdict,
    Training,
    check_member,
    check_training,
    is_trained,
    mask_id_number,
)
from custos.domain.users import Principal
from custos.services.contractors import ContractorUnitOfWork
from custos.services.refusals import refusals_logged
from custos.services.unit_records import record_write, unit_in_reach


class StaffRecords(Protocol):
    def add(self, m: StaffMember) -> StaffMember: ...
    def set_left(self, staff_id: int, left_on: date | None) -> None: ...
    def get(self, staff_id: int) -> StaffMember | None: ...
    def find(self, unit_ids: Sequence[int]) -> list[StaffMember]: ...
    def add_training(self, training: Training) -> Training: ...
    def trainings(self, unit_ids: Sequence[int]) -> list[Training]: ...


class StaffUnitOfWork(ContractorUnitOfWork, Protocol):
    @property
    def staff(self) -> StaffRecords: ...


@dataclass(frozen=True)
class MemberInput:
    name: str
    role: StaffRole
    id_number: str = field(repr=False)  # an ID-card number: never in a repr or a log line
    hired_on: date
    left_on: date | None = None
    contractor_id: int | None = None
    user_id: int | None = None


@dataclass(frozen=True)
class TrainingInput:
    held_on: date
    contents: frozenset[TrainingContent]
    trainer: str
    hours: int
    attendee_ids: tuple[int, ...]


class StaffService:
    def __init__(self, uow: Callable[[], StaffUnitOfWork], rules: RuleBook, clock: Clock) -> None:
        self._uow = uow
        self._rules = rules
        self._clock = clock

    def add_member(self, actor: Principal, unit_id: int, data: MemberInput) -> StaffMember:
        actor.require(Permission.DUTY_MANAGE)
        now = self._clock.now()
        logged = refusals_logged(self._uow, self._clock, actor, "staff.add", "unit", unit_id)
        with logged, self._uow() as uow:
            unit_in_reach(uow, actor, unit_id)
            number = data.id_number.strip().upper()
            member = StaffMember(
                None, unit_id, data.name.strip(), data.role, mask_id_number(number),
                data.hired_on, data.left_on, data.contractor_id, data.user_id,
                actor.username, now, id_number=number,
            )  # fmt: skip
            errors = check_member(member, shanghai_date(now))
            errors += self._links(uow, unit_id, data)
            if errors:
                raise ValidationFailed(errors)
            member = uow.staff.add(member)
            record_write(uow, actor, now, "staff.add", "staff_member", member.id, member.as_dict())
            uow.commit()
        return member

    def _links(self, uow: StaffUnitOfWork, unit_id: int, data: MemberInput) -> list[FieldError]:
        errors: list[FieldError] = []
        if data.user_id is not None:
            user = uow.users.get(data.user_id)
            if user is None or (user.unit_id is not None and user.unit_id != unit_id):
                errors.append(FieldError("user_id", "no such user of this unit"))
            elif any(m.user_id == data.user_id for m in uow.staff.find([unit_id])):
                errors.append(FieldError("user_id", "this user already has an archive entry"))
        if data.contractor_id is not None:
            contractor = uow.contractors.get(data.contractor_id)
            if contractor is None or contractor.unit_id != unit_id:
                errors.append(FieldError("contractor_id", "not a contractor of this unit"))
        return errors

    def set_left(self, actor: Principal, staff_id: int, left_on: date | None) -> StaffMember:
        actor.require(Permission.DUTY_MANAGE)
        now = self._clock.now()
        logged = refusals_logged(
            self._uow, self._clock, actor, "staff.left", "staff_member", staff_id
        )
        with logged, self._uow() as uow:
            member = self._member(uow, actor, staff_id)
            if left_on is not None and left_on < member.hired_on:
                raise ValidationFailed(FieldError("left_on", "must not be before hired_on"))
            uow.staff.set_left(staff_id, left_on)
            after = dataclasses.replace(member, left_on=left_on)
            record_write(uow, actor, now, "staff.left", "staff_member", staff_id, after.as_dict())
            uow.commit()
        return after

    def members(self, actor: Principal, unit_id: int) -> list[StaffMember]:
        actor.require(Permission.DUTY_READ)
        with self._uow() as uow:
            unit_in_reach(uow, actor, unit_id)
            return uow.staff.find([unit_id])

    def record_training(self, actor: Principal, unit_id: int, data: TrainingInput) -> Training:
        actor.require(Permission.DUTY_MANAGE)
        now = self._clock.now()
        logged = refusals_logged(self._uow, self._clock, actor, "training.record", "unit", unit_id)
        with logged, self._uow() as uow:
            unit_in_reach(uow, actor, unit_id)
            training = Training(
                None, unit_id, data.held_on, data.contents, data.trainer.strip(), data.hours,
                tuple(dict.fromkeys(data.attendee_ids)), actor.username, now,
            )  # fmt: skip
            errors = check_training(training, shanghai_date(now), uow.staff.find([unit_id]))
            if errors:
                raise ValidationFailed(errors)
            training = uow.staff.add_training(training)
            record_write(
                uow, actor, now, "training.record", "training", training.id, training.as_dict()
            )
            uow.commit()
        return training

    def trainings(self, actor: Principal, unit_id: int) -> list[Training]:
        actor.require(Permission.DUTY_READ)
        with self._uow() as uow:
            unit_in_reach(uow, actor, unit_id)
            return uow.staff.trainings([unit_id])

    def training_status(self, actor: Principal, staff_id: int, site_id: int) -> TrainedVerdict:
        """Whether an archived person counts as trained today under the site's packs."""
        actor.require(Permission.DUTY_READ)
        with self._uow() as uow:
            member = self._member(uow, actor, staff_id)
            site = uow.sites.get(site_id)
            if site is None or site.unit_id != member.unit_id:
                raise NotFound("site", site_id)
            return self._verdict(uow, member, site, shanghai_date(self._clock.now()))

    def is_trained(
        self, site_id: int, on: date, *, staff_id: int | None = None, user_id: int | None = None
    ) -> TrainedVerdict:
        """For the duty records: is this person (an archive entry, or the Custos user linked to
        one) trained on ``on`` under the packs of ``site_id``? Not in the archive: not trained."""
        with self._uow() as uow:
            site = uow.sites.get(site_id)
            if site is None:
                raise NotFound("site", site_id)
            members = uow.staff.find([site.unit_id])
            member = next(
                (m for m in members if (staff_id and m.id == staff_id) or
                 (user_id and m.user_id == user_id)),
                None,
            )  # fmt: skip
            if member is None:
                return TrainedVerdict(False, None, frozenset())
            return self._verdict(uow, member, site, on)

    def _verdict(
        self, uow: StaffUnitOfWork, member: StaffMember, site: Site, on: date
    ) -> TrainedVerdict:
        duties = self._rules.effective(site.division_code, site.public_place_article).operating
        return is_trained(
            uow.staff.trainings([member.unit_id]),
            member.id or 0,
            on,
            duties.training_interval_days.value,
            duties.training_contents.value,
        )

    def _member(self, uow: StaffUnitOfWork, actor: Principal, staff_id: int) -> StaffMember:
        member = uow.staff.get(staff_id)
        if member is None:
            raise NotFound("staff_member", staff_id)
        try:
            unit_in_reach(uow, actor, member.unit_id)
        except NotFound:
            raise NotFound("staff_member", staff_id) from None
        return member
