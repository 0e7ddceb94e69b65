"""Sessions through which footage is seen, and packages in which it leaves.

A :class:`PlaybackSession` is opened once — by staff with a stated purpose, or by executing an
approved view request — and bounds every segment list and media read that follows to its scope
and its validity. An :class:`ExportPackage` is a file that leaves the system (a staff export, or
the copy/retrieval an authority executes); its SHA-256 is registered.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from custos.domain.access_requests import FootageScope


class SessionKind(enum.StrEnum):
    LIVE = "live"
    PLAYBACK = "playback"
    GRANT = "grant"  # an authority's view under an approved request


@dataclass
class PlaybackSession:
    id: int | None
    kind: SessionKind
    user_id: int
    scope: FootageScope  # for live sessions start/end are the session's own bounds
    purpose: str
    opened_at: datetime
    expires_at: datetime
    request_id: int | None = None
    closed_at: datetime | None = None
    register_entry_id: int | None = None

    def is_open(self, now: datetime) -> bool:
        return self.closed_at is None and now < self.expires_at


@dataclass
class ExportPackage:
    id: int | None
    user_id: int
    scope: FootageScope
    purpose: str
    created_at: datetime
    path: str  # relative to the exports directory
    sha256: str
    bytes: int
    segment_count: int
    request_id: int | None = None
    register_entry_id: int | None = None
