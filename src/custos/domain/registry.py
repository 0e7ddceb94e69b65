"""The registry: units (使用单位), their sites, and the cameras on them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime

from custos.domain.errors import InvalidTransition
from custos.domain.kinds import LifecycleState, PublicPlaceArticle, UnitKind
from custos.domain.rules.facts import FilingKind as FilingKind  # re-exported for the registry
from custos.domain.stream_url import StreamUrl as StreamUrl  # re-exported for the registry


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str
    role: str = ""


@dataclass
class Unit:
    id: int | None
    name: str
    credit_code: str
    kind: UnitKind
    contacts: list[Contact] = field(default_factory=list)


class SiteType(enum.StrEnum):
    FIXED = "fixed"
    VEHICLE = "vehicle"  # §8 C-09: public transport vehicles, cash-in-transit vehicles


@dataclass
class Site:
    id: int | None
    unit_id: int
    name: str
    division_code: str
    address: str
    latitude: float | None
    longitude: float | None
    is_public_place: bool
    public_place_article: PublicPlaceArticle
    is_public_road_or_square: bool
    is_classified: bool
    categories: list[str] = field(default_factory=list)
    site_type: SiteType = SiteType.FIXED
    government_invested: bool = False  # 政府投资建设 (Liaoning art. 13 signage)
    division_name: str = ""  # 西安市雁塔区: names the organ that receives filings


@dataclass(frozen=True)
class Signage:
    installed: bool = False
    installed_on: date | None = None
    photo_ref: str | None = None


@dataclass(frozen=True)
class LifecycleEvent:
    state: LifecycleState
    on: date
    recorded_at: datetime


S = LifecycleState
#: Which states may follow which (obligations §8 F-04; Decree 799 art. 11, 14).
NEXT_STATES: dict[LifecycleState, frozenset[LifecycleState]] = {
    S.PLANNED: frozenset({S.DESIGN_REVIEWED, S.REMOVED}),
    S.DESIGN_REVIEWED: frozenset({S.BUILT, S.REMOVED}),
    S.BUILT: frozenset({S.ACCEPTED, S.REMOVED}),
    S.ACCEPTED: frozenset({S.IN_SERVICE, S.REMOVED}),
    S.IN_SERVICE: frozenset({S.CHANGED, S.RELOCATED, S.REMOVED}),
    S.CHANGED: frozenset({S.IN_SERVICE, S.CHANGED, S.RELOCATED, S.REMOVED}),
    S.RELOCATED: frozenset({S.IN_SERVICE, S.CHANGED, S.RELOCATED, S.REMOVED}),
    S.REMOVED: frozenset(),
}

#: States in which a camera is operating and should be recorded.
RECORDING_STATES = frozenset({S.IN_SERVICE, S.CHANGED, S.RELOCATED})


@dataclass
class Camera:
    id: int | None
    site_id: int
    address_code: str
    name: str
    device_type: str
    manufacturer: str
    model: str
    install_position: str
    field_of_view: str
    location_categories: list[str]
    covers_public_area: bool
    captures_public_area_outside_premises: bool
    signage: Signage
    main_stream: StreamUrl | None
    sub_stream: StreamUrl | None
    retention_days: int | None
    ptz: bool = False
    lifecycle: list[LifecycleEvent] = field(default_factory=list)

    @property
    def state(self) -> LifecycleState:
        return self.lifecycle[-1].state if self.lifecycle else LifecycleState.PLANNED

    def date_of(self, state: LifecycleState) -> date | None:
        """The first date the camera entered ``state``."""
        return next((e.on for e in self.lifecycle if e.state is state), None)

    def transition(self, to: LifecycleState, on: date, today: date, now: datetime) -> None:
        current = self.state
        if to not in NEXT_STATES[current]:
            allowed = ", ".join(sorted(NEXT_STATES[current])) or "none (removed is final)"
            raise InvalidTransition(
                current, to, reason=f"cannot go from {current} to {to}; allowed next: {allowed}"
            )
        last = self.lifecycle[-1] if self.lifecycle else None
        if last is not None and on < last.on:
            raise InvalidTransition(
                current,
                to,
                field="on",
                reason=f"{on.isoformat()} is before the previous step "
                f"({last.state} on {last.on.isoformat()})",
            )
        if on > today:
            raise InvalidTransition(
                current, to, field="on", reason=f"{on.isoformat()} is in the future"
            )
        self.lifecycle.append(LifecycleEvent(to, on, now))


@dataclass
class Filing:
    id: int | None
    site_id: int
    kind: FilingKind
    trigger_date: date
    filed_on: date | None
    recipient: str
    receipt_number: str
    note: str = ""
    camera_id: int | None = None
