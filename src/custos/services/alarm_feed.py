"""What changed in the alarms a person may see since they last looked: the server push of the
dashboard and the duty wall (``GET /ui/events``, docs/design/operations.md).

The feed keeps, per listener, each visible open alarm's *state* (open, acknowledged, its
severity); each look compares the open alarms now with it: an alarm not seen before is new, one
whose state moved has changed, and one no longer open is looked up once more to report how it
closed (resolved or cleared). Visibility is ``AlarmService``'s own (reach, ``alarm.read``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from custos.domain.alarms import Alarm
from custos.domain.errors import NotFound
from custos.domain.users import Principal
from custos.services.alarms import AlarmFilter, AlarmService


def state_of(a: Alarm) -> str:
    if a.resolved is not None:
        return "resolved"
    if a.cleared_at is not None:
        return "cleared"
    return "acknowledged" if a.acknowledged is not None else "open"


def as_event(a: Alarm) -> dict[str, Any]:
    return {
        "id": a.id,
        "kind": a.kind.value,
        "severity": a.severity.value,
        "subject": a.subject,
        "message": a.message,
        "camera_id": a.camera_id,
        "raised_at": a.raised_at.isoformat(),
        "state": state_of(a),
    }


@dataclass
class FeedCursor:
    """One listener's view: alarm id -> (state, severity) of what it was last told."""

    seen: dict[int, tuple[str, str]] = field(default_factory=dict)


class AlarmFeed:
    def __init__(self, alarms: AlarmService) -> None:
        self._alarms = alarms

    def start(self, actor: Principal) -> FeedCursor:
        """The listener's starting point: what is open now is known (the page lists it)."""
        return FeedCursor({a.id: _sig(a) for a in self._open(actor) if a.id is not None})

    def changes(self, actor: Principal, cursor: FeedCursor) -> list[Alarm]:
        """The alarms new or changed since ``cursor`` (which moves on), oldest first."""
        now_open = {a.id: a for a in self._open(actor) if a.id is not None}
        out: list[Alarm] = []
        for alarm_id, a in sorted(now_open.items()):
            if cursor.seen.get(alarm_id) != _sig(a):
                out.append(a)
                cursor.seen[alarm_id] = _sig(a)
        for alarm_id in [i for i in cursor.seen if i not in now_open]:
            del cursor.seen[alarm_id]
            try:
                out.append(self._alarms.get(actor, alarm_id))
            except NotFound:  # out of reach now: nothing to tell
                continue
        return out

    def _open(self, actor: Principal) -> list[Alarm]:
        return self._alarms.find(actor, where=AlarmFilter(open_only=True))


def _sig(a: Alarm) -> tuple[str, str]:
    return (state_of(a), a.severity.value)
