"""Evidence holds (信息保全): create, list, extend; release takes a second person."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from custos.domain.access import Permission
from custos.domain.access_requests import FootageScope, check_scope
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.errors import FieldError, NotFound, ValidationFailed
from custos.domain.holds import EvidenceHold, HoldKind, important_footage_expiry
from custos.domain.users import Principal
from custos.services.ports import RetentionUnitOfWork, RetentionUnitOfWorkFactory
from custos.services.reach import reaches
from custos.services.refusals import refusals_logged
from custos.services.snapshots import snapshot


class HoldService:
    def __init__(self, uow: RetentionUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def create(
        self,
        actor: Principal,
        kind: HoldKind,
        case_number: str,
        reason: str,
        camera_ids: Sequence[int],
        start: datetime,
        end: datetime,
        expires_at: datetime | None,
    ) -> EvidenceHold:
        actor.require(Permission.HOLD_MANAGE)
        now = self._clock.now()
        with self._logged(actor, "hold.create", None), self._uow() as uow:
            scope = FootageScope(tuple(camera_ids), start, end)
            errors = check_scope(scope)
            if not case_number.strip():
                errors.append(FieldError("case_number", "must not be empty"))
            if not reason.strip():
                errors.append(FieldError("reason", "must not be empty"))
            if kind is HoldKind.IMPORTANT_FOOTAGE:
                if expires_at is not None:
                    errors.append(
                        FieldError(
                            "expires_at",
                            "important footage is held 365 days; leave it out",
                            "liaoning-2008:art14.i7",
                            "Liaoning Measures art. 14(7)",
                        )
                    )
                expires_at = important_footage_expiry(now)
            elif expires_at is not None and expires_at <= now:
                errors.append(
                    FieldError("expires_at", "must be in the future (or absent: indefinite)")
                )
            for i, cid in enumerate(camera_ids):
                if not reaches(uow, actor, cid):
                    errors.append(
                        FieldError(f"camera_ids[{i}]", f"no camera {cid} that you can see")
                    )
            if errors:
                raise ValidationFailed(errors)
            hold = EvidenceHold(
                None,
                kind,
                case_number.strip(),
                reason.strip(),
                scope,
                expires_at,
                actor.user_id or 0,
                now,
            )
            uow.holds.add(hold)
            self._audit(uow, actor, "hold.create", hold)
            uow.commit()
        return hold

    def find(self, actor: Principal, camera_id: int | None = None) -> list[EvidenceHold]:
        actor.require(Permission.HOLD_MANAGE)
        with self._uow() as uow:
            return [
                h
                for h in uow.holds.find(camera_id)
                if all(reaches(uow, actor, c) for c in h.scope.camera_ids)
            ]

    def get(self, actor: Principal, hold_id: int) -> EvidenceHold:
        actor.require(Permission.HOLD_MANAGE)
        with self._uow() as uow:
            return self._load(uow, actor, hold_id)

    def extend(self, actor: Principal, hold_id: int, new_expiry: datetime | None) -> EvidenceHold:
        actor.require(Permission.HOLD_MANAGE)
        with self._logged(actor, "hold.extend", hold_id), self._uow() as uow:
            hold = self._load(uow, actor, hold_id)
            hold.extend(new_expiry, actor.user_id or 0, self._clock.now())
            uow.holds.update(hold)
            self._audit(uow, actor, "hold.extend", hold)
            uow.commit()
        return hold

    def request_release(self, actor: Principal, hold_id: int, reason: str) -> EvidenceHold:
        actor.require(Permission.HOLD_MANAGE)
        with self._logged(actor, "hold.release_request", hold_id), self._uow() as uow:
            hold = self._load(uow, actor, hold_id)
            hold.request_release(actor.user_id or 0, reason, self._clock.now())
            uow.holds.update(hold)
            self._audit(uow, actor, "hold.release_request", hold)
            uow.commit()
        return hold

    def approve_release(self, actor: Principal, hold_id: int) -> EvidenceHold:
        actor.require(Permission.HOLD_MANAGE)
        with self._logged(actor, "hold.release", hold_id), self._uow() as uow:
            hold = self._load(uow, actor, hold_id)
            hold.approve_release(actor.user_id or 0, self._clock.now())
            uow.holds.update(hold)
            self._audit(uow, actor, "hold.release", hold)
            uow.commit()
        return hold

    def reject_release(self, actor: Principal, hold_id: int) -> EvidenceHold:
        actor.require(Permission.HOLD_MANAGE)
        with self._logged(actor, "hold.release_reject", hold_id), self._uow() as uow:
            hold = self._load(uow, actor, hold_id)
            hold.reject_release(actor.user_id or 0)
            uow.holds.update(hold)
            self._audit(uow, actor, "hold.release_reject", hold)
            uow.commit()
        return hold

    # ---- internals ---------------------------------------------------------------------------
    def _load(self, uow: RetentionUnitOfWork, actor: Principal, hold_id: int) -> EvidenceHold:
        hold = uow.holds.get(hold_id)
        if hold is None or not all(reaches(uow, actor, c) for c in hold.scope.camera_ids):
            raise NotFound("hold", hold_id)
        return hold

    def _audit(
        self, uow: RetentionUnitOfWork, actor: Principal, action: str, h: EvidenceHold
    ) -> None:
        uow.audit.append(
            AuditEvent(
                self._clock.now(), actor.username, action, "hold", str(h.id), after=snapshot(h)
            )
        )

    def _logged(
        self, actor: Principal, action: str, obj_id: int | None
    ) -> AbstractContextManager[None]:
        return refusals_logged(self._uow, self._clock, actor, action, "hold", obj_id)
