"""A publication case's background job: detection (the proposal) or rendering (the release),
its progress and how it failed (docs/design/evidence.md, "Detection and rendering as background
jobs"). Kept in the case's JSON body; pure: no clock, no database."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: A failure's reason is a message key the page translates: publication.failed.<code>.
FAILED_KEY = "publication.failed."
MAX_DETAIL = 300


class JobSupersededError(Exception):
    """A job's result not written: its case is no longer in its stage at the job's attempt
    (a later start took it over, or it was released meanwhile)."""


class JobStage(enum.StrEnum):
    DETECT = "detect"  # the proposal: detectors and tracker over every frame
    RENDER = "render"  # the release: mask, re-encode, seal, register, log


class FailureCode(enum.StrEnum):
    SOURCE = "source"  # the package is missing, not as recorded, or not one camera
    VIDEO = "video"  # the video cannot be decoded or is too long
    TRACKS = "tracks"  # more tracks than a case holds
    INTERNAL = "internal"  # anything else (the server's log says what)


@dataclass(frozen=True, slots=True)
class JobActor:
    """Who asked for the job (the requester for detection, the reviewer for the release)."""

    user_id: int | None
    username: str
    role: str | None
    unit_id: int | None


@dataclass(slots=True)
class PublicationJob:
    stage: JobStage
    by: JobActor
    attempt: int = 0  # incremented at each start: fences a superseded run's final write
    done: int = 0  # frames
    total: int = 0
    started_at: datetime | None = None
    updated_at: datetime | None = None
    eta_s: float | None = None
    reason: str | None = None  # FAILED_KEY + code, once failed
    detail: str = ""
    source: str | None = None  # a package path given directly (no export), for the worker

    def begin(self, at: datetime) -> None:
        self.attempt += 1
        self.done, self.total, self.eta_s = 0, 0, None
        self.started_at = self.updated_at = at
        self.reason, self.detail = None, ""

    def progress(self, done: int, total: int, at: datetime) -> None:
        """Frames done of ``total`` (an estimate, never below ``done``) and the time left,
        from the pace so far."""
        self.done, self.total, self.updated_at = done, max(total, done), at
        elapsed = (at - self.started_at).total_seconds() if self.started_at else 0.0
        left = self.total - self.done
        self.eta_s = round(elapsed * left / done, 1) if done > 0 and elapsed >= 0 else None

    def failed(self, code: FailureCode, detail: str, at: datetime) -> None:
        self.reason, self.detail, self.updated_at = FAILED_KEY + code.value, detail[:MAX_DETAIL], at
        self.eta_s = None

    @property
    def percent(self) -> float:
        return round(100.0 * self.done / self.total, 1) if self.total > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage.value,
            "by": {
                "user_id": self.by.user_id, "username": self.by.username,
                "role": self.by.role, "unit_id": self.by.unit_id,
            },
            "attempt": self.attempt, "done": self.done, "total": self.total,
            "started_at": _iso(self.started_at), "updated_at": _iso(self.updated_at),
            "eta_s": self.eta_s, "reason": self.reason, "detail": self.detail,
            "source": self.source,
        }  # fmt: skip

    @classmethod
    def of(cls, d: dict[str, Any]) -> PublicationJob:
        by = d["by"]
        return cls(
            JobStage(d["stage"]),
            JobActor(by["user_id"], by["username"], by.get("role"), by.get("unit_id")),
            int(d["attempt"]), int(d["done"]), int(d["total"]),
            _time(d.get("started_at")), _time(d.get("updated_at")), d.get("eta_s"),
            d.get("reason"), str(d.get("detail") or ""), d.get("source"),
        )  # fmt: skip


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
