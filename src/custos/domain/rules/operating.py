"""The operating unit's duties, layered: duty monitoring, reporting, staff, training,
inspection and repair, entrustment, assessment and the emergency plan.

Sources: Beijing art. 13, 14 ¶2; Liaoning art. 14 (and ¶2 on entrustment); Shaanxi art. 16;
Chongqing art. 20(1)–(9) and ¶2; Xi'an art. 22(1)–(9) and ¶2; Decree 799 art. 15.

The texts require these duties but give no numbers: "report promptly" (及时) or "immediately"
(立即), "train", "inspect and maintain periodically", "restore promptly", "assess periodically".
Custos fills each number with a product default (``product_default=True`` and a note saying
so), cited by the articles that impose the duty; a unit may set a shorter interval of its own.
A duty no applicable pack states is ``False`` (booleans) or ``None`` (numbers), uncited.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from custos.domain.rules.citation import Citation
from custos.domain.rules.duty import Candidate, Duty, any_required, strictest
from custos.domain.rules.model import Cited, OperatingRules, RulePack
from custos.domain.rules.terms import ReportUrgency, RoomAccessBan, TrainingContent

REPORT_MINUTES = {ReportUrgency.PROMPTLY: 60, ReportUrgency.IMMEDIATELY: 15}
"""Product defaults: "promptly" (及时) read as within 60 minutes, "immediately" (立即) 15."""
TRAINING_INTERVAL_DAYS = 365
INSPECTION_INTERVAL_DAYS = 30
REPAIR_DEADLINE_HOURS = 24
ASSESSMENT_INTERVAL_DAYS = 365
DRILL_INTERVAL_DAYS = 365

_REPORT_NOTE = {
    ReportUrgency.PROMPTLY: "the text says promptly (及时); Custos reads it as within 60 minutes",
    ReportUrgency.IMMEDIATELY: "the text says immediately (立即); Custos reads it as within 15 minutes",
}
_ROOM_NOTE = {
    RoomAccessBan.OUTRIGHT: "persons unrelated to duty monitoring are banned outright (禁止…进入)",
    RoomAccessBan.WITHOUT_AUTHORISATION: (
        "persons unrelated to monitoring may not enter without authorisation (不得擅自进入)"
    ),
}
_NO_CONTENTS: Duty[frozenset[TrainingContent]] = Duty(frozenset())
_NOT_REQUIRED: Duty[bool] = Duty(False)
_INTERVAL_NOTE = "the texts set no interval; Custos applies {} days (product default)"


@dataclass(frozen=True, slots=True)
class OperatingDuties:
    """Every operating duty in force, each a :class:`Duty` with the articles behind it."""

    duty_monitoring: Duty[bool]
    report_deadline_minutes: Duty[int | None]
    room_access_restricted: Duty[bool]
    staff_archive_required: Duty[bool]
    training_required: Duty[bool]
    training_interval_days: Duty[int | None]
    inspection_interval_days: Duty[int | None]
    repair_deadline_hours: Duty[int | None]
    keep_location_and_function: Duty[bool]
    entrustment_agreement_required: Duty[bool]
    assessment_interval_days: Duty[int | None]
    emergency_plan_required: Duty[bool]
    drill_interval_days: Duty[int | None]
    training_contents: Duty[frozenset[TrainingContent]] = _NO_CONTENTS
    """The contents a training must cover, the union of what the packs name."""
    room_access_outright_ban: Duty[bool] = _NOT_REQUIRED
    """True where a pack bans unrelated persons outright (not only unauthorised entry)."""

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name).as_dict() for f in fields(self)}


def layer_operating(
    packs: Sequence[RulePack], applies: Callable[[Citation], bool]
) -> OperatingDuties:
    """Layer the packs' ``operating`` rules; ``applies`` drops citations a site is exempt from."""
    rules = [p.operating for p in packs]

    def required(pick: Callable[[OperatingRules], Citation | None]) -> Duty[bool]:
        cites = [c for r in rules if (c := pick(r)) is not None and applies(c)]
        return any_required([Candidate(True, c) for c in cites])

    def cited(pick: Callable[[OperatingRules], Cited[Any] | None]) -> list[Cited[Any]]:
        return [c for r in rules if (c := pick(r)) is not None and applies(c.citation)]

    training = cited(lambda r: r.training)
    training_required = any_required([Candidate(True, c.citation) for c in training])
    room = cited(lambda r: r.room_access)
    outright = [c.citation for c in room if c.value is RoomAccessBan.OUTRIGHT]
    inspection = required(lambda r: r.inspection_maintenance)
    restore = required(lambda r: r.restore_after_fault)
    emergency = required(lambda r: r.emergency_plan)
    return OperatingDuties(
        duty_monitoring=required(lambda r: r.duty_monitoring),
        report_deadline_minutes=_report(cited(lambda r: r.report_suspicious)),
        room_access_restricted=_room(room),
        staff_archive_required=required(lambda r: r.staff_archive),
        training_required=training_required,
        training_interval_days=_interval(training_required, TRAINING_INTERVAL_DAYS),
        inspection_interval_days=_interval(inspection, INSPECTION_INTERVAL_DAYS),
        repair_deadline_hours=_interval(
            restore,
            REPAIR_DEADLINE_HOURS,
            "the texts say restore promptly (及时恢复); Custos reads it as within 24 hours",
        ),
        keep_location_and_function=required(lambda r: r.keep_location_and_function),
        entrustment_agreement_required=required(lambda r: r.entrustment_agreement),
        assessment_interval_days=_interval(
            required(lambda r: r.assessment), ASSESSMENT_INTERVAL_DAYS
        ),
        emergency_plan_required=emergency,
        drill_interval_days=_interval(
            emergency,
            DRILL_INTERVAL_DAYS,
            "the texts require an emergency plan, not drills; Custos expects a drill of it "
            f"every {DRILL_INTERVAL_DAYS} days to show the plan works (product default)",
        ),
        training_contents=Duty(
            frozenset(item for c in training for item in c.value),
            tuple(dict.fromkeys(c.citation for c in training)),
        ),
        room_access_outright_ban=any_required([Candidate(True, c) for c in outright]),
    )


def _report(offers: list[Cited[Any]]) -> Duty[int | None]:
    candidates = [
        Candidate(REPORT_MINUTES[c.value], c.citation, True, _REPORT_NOTE[c.value]) for c in offers
    ]
    if not candidates:
        return Duty(None)
    won = strictest(candidates, lambda minutes: -minutes, 0, keep_weaker=True)
    return Duty(won.value, won.citations, product_default=True, note=won.note)


def _room(offers: list[Cited[Any]]) -> Duty[bool]:
    if not offers:
        return Duty(False)
    outright_first = sorted(offers, key=lambda c: c.value is not RoomAccessBan.OUTRIGHT)
    return Duty(
        True,
        tuple(dict.fromkeys(c.citation for c in outright_first)),
        note=_ROOM_NOTE[outright_first[0].value],
    )


def _interval(base: Duty[bool], default: int, note: str | None = None) -> Duty[int | None]:
    if not base.value:
        return Duty(None)
    return Duty(
        default, base.citations, product_default=True, note=note or _INTERVAL_NOTE.format(default)
    )
