"""The registration register (登记): who saw, copied or took which footage, when and why.

Every live-view session, playback, copy, retrieval and download adds an entry (Decree 799 art.
16(3); Beijing art. 13(2), 17(3); Liaoning art. 14(4), 18(4); Shaanxi art. 16(6); Chongqing art. 23;
Xi'an art. 27). Entries are never edited; a live session's end is a second fact (``ended_at``)
written once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class RegisterKind(enum.StrEnum):
    LIVE_VIEW = "live_view"  # 值班监看: an operator watching live video
    PLAYBACK = "playback"  # 回放 by staff, with a stated purpose
    VIEW = "view"  # 查阅 by an authority, under an approved request
    COPY = "copy"  # 复制
    RETRIEVE = "retrieve"  # 调取
    EXPORT = "export"  # staff export of footage
    DOWNLOAD = "download"  # a file leaving the system
    PUBLICATION = "publication"  # a masked copy released for public dissemination (公开传播)


@dataclass(frozen=True)
class Person:
    name: str
    role: str  # "operator", "handler", "approver"…
    credential: str = ""  # "law_enforcement_id 610102…" for handlers


@dataclass
class RegisterEntry:
    id: int | None
    at: datetime
    kind: RegisterKind
    unit_id: int | None  # the operating unit whose footage it is
    user_id: int | None
    persons: tuple[Person, ...]
    organ: str  # the requesting organ, empty for staff
    purpose: str
    camera_ids: tuple[int, ...]
    start: datetime | None  # footage range (None for live view)
    end: datetime | None
    request_id: int | None = None
    session_id: int | None = None
    output_sha256: str | None = None
    output_name: str | None = None
    ended_at: datetime | None = None  # for live-view sessions


@dataclass(frozen=True)
class RegisterQuery:
    unit_ids: tuple[int, ...] | None = None  # None: every unit
    kind: RegisterKind | None = None
    since: datetime | None = None
    until: datetime | None = None
    camera_id: int | None = None
    person: str | None = None
    request_id: int | None = None
    limit: int = 500
    # keyset paging, newest first: only entries before this one in (at, id) order
    before: tuple[datetime, int] | None = None
