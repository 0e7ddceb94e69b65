"""Live video and playback for an upper (public-security) platform over GB/T 28181: what the
cascade link asks before it answers an INVITE, and the register entries of what it serves
(docs/design/gb28181.md, "Upward: live and playback for an upper platform").

The upper platform acts as a system principal of its own, ``gb:<its 20-digit ID>``: it is not a
user and has no playback session, but every live view and playback it receives is an entry in
the register (organ: the platform's name and ID), opened when the platform ACKs the 200 and
closed at its BYE, and the footage it gets passes the same rules as any view: only cameras
shared with it (and still allowed on its network), only sealed segments the index still lists
whose files exist, none marked for deletion or past retention without a hold.

No SIP here: the SIP side is ``adapters/sip/cascade_media.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from custos.domain.access_requests import FootageScope
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.gb_cascade import UpperPlatform
from custos.domain.recording import Segment
from custos.domain.register import Person, RegisterEntry, RegisterKind
from custos.domain.retention import RetentionPolicy, Verdict, verdict
from custos.domain.users import SYSTEM, Principal
from custos.services.gb_cascade import CascadeUnitOfWork, GbCascadeService
from custos.services.ports import Register, RetentionUnitOfWork
from custos.services.reach import unit_in_reach

log = logging.getLogger(__name__)

LIVE_PURPOSE = "GB/T 28181 live view by the upper platform (上级平台实时调阅)"
PLAYBACK_PURPOSE = "GB/T 28181 playback by the upper platform (上级平台录像回放)"


class UpwardRegister(Register, Protocol):
    def end_entry(self, entry_id: int, ended_at: datetime) -> None:
        """Write the end of a view that has no playback session, once."""


class UpwardUnitOfWork(RetentionUnitOfWork, CascadeUnitOfWork, Protocol):
    """The tables an upward view reads and writes (the SQL unit of work has them all)."""

    @property
    def register(self) -> UpwardRegister: ...


def upper_principal(platform: UpperPlatform) -> Principal:
    """The upper platform as the actor of what it receives: ``gb:<ID>``, a system principal."""
    return Principal(
        user_id=None,
        username=f"gb:{platform.sip_id}",
        role=None,
        unit_id=None,
        full_name=platform.name or platform.sip_id,
    )


@dataclass(frozen=True)
class PlaybackPiece:
    """One sealed segment to send, and its file."""

    segment: Segment
    path: Path


@dataclass(frozen=True)
class UpwardView:
    """An open live view or playback: its register entries, to close at BYE."""

    platform_id: int
    camera_id: int
    kind: RegisterKind
    entry_ids: tuple[int, ...]


class GbUpwardService:
    def __init__(
        self,
        uow: Callable[[], UpwardUnitOfWork],
        cascade: GbCascadeService,
        clock: Clock,
        segment_file: Callable[[str], Path],
        policy: Callable[[RetentionUnitOfWork, int], RetentionPolicy],
        frozen: Callable[[], list[FootageScope]],
    ) -> None:
        self._uow = uow
        self._cascade = cascade
        self._clock = clock
        self._segment_file = segment_file  # an indexed path → its file, on whichever volume
        self._policy = policy
        self._frozen = frozen

    def shared_camera(self, platform_id: int, device_id: str) -> int | None:
        """The camera the platform may have under that address code now, or None."""
        return self._cascade.shared_camera(platform_id, device_id)

    def playback(self, camera_id: int, start: datetime, end: datetime) -> list[PlaybackPiece]:
        """The segments of ``[start, end)`` that may be served, in time order: indexed, not
        missing, not marked for deletion, not past retention unless held or frozen, file on
        disk. Empty when there is nothing to serve."""
        now = self._clock.now()
        frozen = self._frozen()
        with self._uow() as uow:
            segments = uow.segments.find(camera_id, start, end)
            if not segments:
                return []
            doomed = {g.segment_id for g in uow.garbage.find()}
            holds = uow.holds.find(camera_id, include_released=False)
            policy = self._policy(uow, camera_id)
        pieces: list[PlaybackPiece] = []
        for seg in sorted(segments, key=lambda s: (s.start_at, s.sequence)):
            if seg.missing or seg.id in doomed:
                continue
            if verdict(seg, policy, now, holds, frozen) is Verdict.DELETE:
                continue
            path = self._segment_file(seg.path)
            if path.is_file():
                pieces.append(PlaybackPiece(seg, path))
        return pieces

    def open(
        self,
        platform: UpperPlatform,
        camera_id: int,
        span: tuple[datetime, datetime] | None,
        call_id: str,
    ) -> UpwardView:
        """Register a live view (``span`` None) or a playback of ``span`` the platform now
        receives; one entry per operating unit, as any view."""
        kind = RegisterKind.PLAYBACK if span is not None else RegisterKind.LIVE_VIEW
        purpose = PLAYBACK_PURPOSE if span is not None else LIVE_PURPOSE
        actor = upper_principal(platform)
        now = self._clock.now()
        organ = f"{platform.name} ({platform.sip_id})" if platform.name else platform.sip_id
        with self._uow() as uow:
            unit_id = unit_in_reach(uow, SYSTEM, camera_id)
            entry = uow.register.add(
                RegisterEntry(
                    id=None,
                    at=now,
                    kind=kind,
                    unit_id=unit_id,
                    user_id=None,
                    persons=(Person(actor.full_name, "upper_platform", actor.username),),
                    organ=organ,
                    purpose=purpose,
                    camera_ids=(camera_id,),
                    start=span[0] if span else None,
                    end=span[1] if span else None,
                )
            )
            detail = {
                "camera_id": camera_id,
                "call_id": call_id,
                "register_entry_id": entry.id,
                "start": span[0].isoformat() if span else None,
                "end": span[1].isoformat() if span else None,
            }
            uow.audit.append(
                AuditEvent(now, actor.username, f"gb_upward.{kind.value}.open", "gb_platform",
                           str(platform.id), detail=detail)
            )  # fmt: skip
            uow.commit()
        return UpwardView(platform.id or 0, camera_id, kind, (entry.id or 0,))

    def close(self, platform: UpperPlatform, view: UpwardView, reason: str) -> None:
        """The platform's BYE (or the link ending): the entries get their end time."""
        now = self._clock.now()
        with self._uow() as uow:
            for entry_id in view.entry_ids:
                uow.register.end_entry(entry_id, now)
            uow.audit.append(
                AuditEvent(now, f"gb:{platform.sip_id}", f"gb_upward.{view.kind.value}.close",
                           "gb_platform", str(platform.id),
                           detail={"camera_id": view.camera_id, "reason": reason,
                                   "register_entry_ids": list(view.entry_ids)})
            )  # fmt: skip
            uow.commit()


def span_of(start: int, end: int, now: datetime) -> tuple[datetime, datetime] | None:
    """``t=<start> <end>`` (Unix seconds) as a UTC range; None when it is not a range in
    2000–2099 (the bounds of every date Custos takes) or ends in the future."""
    low, high = 946_684_800, 4_102_444_800  # 2000-01-01, 2100-01-01
    if not (low <= start < end <= high):
        return None
    first, last = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
    return (first, min(last, now)) if first < now else None
