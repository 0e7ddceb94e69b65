"""Evidence holds (信息保全): footage kept past every retention period until released.

A hold names a case, a reason, cameras × range and an expiry (or none: indefinite). Releasing
one takes two people: one asks, another approves. Liaoning's "important footage is kept one year"
(art. 14(7)) is a hold of kind ``important_footage`` expiring after 365 days.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from custos.domain.access_requests import FootageScope
from custos.domain.errors import FieldError, InvalidTransition, ValidationFailed

IMPORTANT_FOOTAGE_DAYS = 365


class HoldKind(enum.StrEnum):
    CASE = "case"  # a case, an investigation, a dispute
    IMPORTANT_FOOTAGE = "important_footage"  # Liaoning art. 14(7): 重要价值的图像资料 kept one year


class HoldState(enum.StrEnum):
    ACTIVE = "active"
    RELEASE_REQUESTED = "release_requested"
    RELEASED = "released"


@dataclass(frozen=True)
class Extension:
    at: datetime
    by: int
    old_expiry: datetime | None
    new_expiry: datetime | None


@dataclass
class EvidenceHold:
    id: int | None
    kind: HoldKind
    case_number: str
    reason: str
    scope: FootageScope
    expires_at: datetime | None
    created_by: int
    created_at: datetime
    state: HoldState = HoldState.ACTIVE
    release_requested_by: int | None = None
    release_requested_at: datetime | None = None
    release_reason: str = ""
    released_by: int | None = None
    released_at: datetime | None = None
    extensions: tuple[Extension, ...] = field(default_factory=tuple)

    def in_force(self, now: datetime) -> bool:
        """Protects footage: not released and not past its expiry."""
        if self.state is HoldState.RELEASED:
            return False
        return self.expires_at is None or now < self.expires_at

    def protects(self, camera_id: int, start: datetime, end: datetime, now: datetime) -> bool:
        return self.in_force(now) and self.scope.overlaps(camera_id, start, end)

    def extend(self, new_expiry: datetime | None, by: int, now: datetime) -> None:
        if self.state is HoldState.RELEASED:
            raise InvalidTransition(
                "released", "extended", field="state", reason="a released hold cannot be extended"
            )
        if self.expires_at is None and new_expiry is not None:
            raise ValidationFailed(
                FieldError(
                    "expires_at",
                    "the hold is indefinite; an expiry would shorten it",
                    key="hold.indefinite",
                )
            )
        if new_expiry is not None and self.expires_at is not None and new_expiry <= self.expires_at:
            raise ValidationFailed(
                FieldError(
                    "expires_at",
                    "an extension must end later than the current expiry",
                    key="hold.extension_not_later",
                )
            )
        self.extensions = (*self.extensions, Extension(now, by, self.expires_at, new_expiry))
        self.expires_at = new_expiry

    def request_release(self, by: int, reason: str, now: datetime) -> None:
        if self.state is not HoldState.ACTIVE:
            raise InvalidTransition(
                self.state.value,
                HoldState.RELEASE_REQUESTED.value,
                field="state",
                reason=f"a {self.state.value} hold cannot be asked to release",
            )
        if not reason.strip():
            raise ValidationFailed(
                FieldError("reason", "say why the hold may be released", key="hold.release_reason")
            )
        self.state = HoldState.RELEASE_REQUESTED
        self.release_requested_by, self.release_requested_at = by, now
        self.release_reason = reason.strip()

    def approve_release(self, by: int, now: datetime) -> None:
        if self.state is not HoldState.RELEASE_REQUESTED:
            raise InvalidTransition(
                self.state.value,
                HoldState.RELEASED.value,
                field="state",
                reason="ask for the release first; a second person approves it",
            )
        if by == self.release_requested_by:
            raise ValidationFailed(
                FieldError(
                    "approver",
                    "a second person must approve the release, not the one who asked for it",
                    key="hold.second_person",
                )
            )
        self.state = HoldState.RELEASED
        self.released_by, self.released_at = by, now

    def reject_release(self, by: int) -> None:
        if self.state is not HoldState.RELEASE_REQUESTED:
            raise InvalidTransition(self.state.value, HoldState.ACTIVE.value, field="state")
        if by == self.release_requested_by:
            raise ValidationFailed(
                FieldError(
                    "approver", "a second person decides the release", key="hold.second_person"
                )
            )
        self.state = HoldState.ACTIVE
        self.release_requested_by = self.release_requested_at = None


def important_footage_expiry(created_at: datetime) -> datetime:
    return created_at + timedelta(days=IMPORTANT_FOOTAGE_DAYS)
