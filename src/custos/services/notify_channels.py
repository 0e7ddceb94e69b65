"""Notification channels and the escalation rota of a unit, kept by its managers (issue 14 §1).

A unit manager keeps their own unit's channels and rota; administrators also keep the system's
(``unit_id=None``: volume and channel alarms). URLs and secrets go into the secret box and never
come out of this service: answers and the operation log carry only the masked target.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from custos.domain.access import UNIT_SCOPED_ROLES, Permission
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from custos.domain.notify import (
    MAX_ENTRIES_PER_LEVEL,
    MAX_ROTA_LEVELS,
    Channel,
    ChannelKind,
    DeliveryError,
    Notice,
    RotaEntry,
    redact,
)
from custos.domain.users import Principal
from custos.services.alarm_delivery import ChannelSender, DeliveryUnitOfWork
from custos.services.refusals import refusals_logged

UrlCheck = Callable[[ChannelKind, str], str | None]  # why a URL cannot serve (None: it can)
MIN_SECRET = 16


@dataclass(frozen=True)
class ChannelInput:
    unit_id: int | None
    name: str
    kind: ChannelKind
    url: str = field(repr=False)  # secrets: never in a repr or a log line
    secret: str | None = field(default=None, repr=False)
    enabled: bool = True


@dataclass(frozen=True)
class ChannelChange:
    """What to change; None leaves it as it is."""

    name: str | None = None
    url: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)
    enabled: bool | None = None


class NotifyChannelService:
    def __init__(
        self,
        uow: Callable[[], DeliveryUnitOfWork],
        clock: Clock,
        sender: ChannelSender,
        url_problem: UrlCheck,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._sender = sender
        self._url_problem = url_problem

    # ---- channels ---------------------------------------------------------------------------
    def channels_of(self, actor: Principal, unit_id: int | None) -> list[Channel]:
        _may_keep(actor, unit_id)
        with self._uow() as uow:
            _unit_exists(uow, unit_id)
            return [c for c in uow.channels.find([unit_id]) if c.unit_id == unit_id]

    def create(self, actor: Principal, data: ChannelInput) -> Channel:
        now = self._clock.now()
        logged = refusals_logged(self._uow, self._clock, actor, "channel.create", "channel", None)
        with logged, self._uow() as uow:
            _may_keep(actor, data.unit_id)
            _unit_exists(uow, data.unit_id)
            self._check(data.kind, data.url, data.secret)
            ch = uow.channels.add(
                Channel(None, data.unit_id, data.name, data.kind, data.url, data.secret,
                        data.enabled, now)
            )  # fmt: skip
            self._audit(uow, actor, "channel.create", ch)
            uow.commit()
            return ch

    def update(self, actor: Principal, channel_id: int, change: ChannelChange) -> Channel:
        logged = refusals_logged(
            self._uow, self._clock, actor, "channel.update", "channel", channel_id
        )
        with logged, self._uow() as uow:
            ch = self._get(uow, actor, channel_id)
            ch.name = change.name if change.name is not None else ch.name
            ch.url = change.url if change.url is not None else ch.url
            ch.secret = change.secret if change.secret is not None else ch.secret
            ch.enabled = change.enabled if change.enabled is not None else ch.enabled
            self._check(ch.kind, ch.url, ch.secret)
            uow.channels.update(ch)
            changed = sorted(k for k, v in change.__dict__.items() if v is not None)
            self._audit(uow, actor, "channel.update", ch, changed=changed)
            uow.commit()
            return ch

    def remove(self, actor: Principal, channel_id: int) -> None:
        with self._uow() as uow:
            ch = self._get(uow, actor, channel_id)
            dropped = uow.channels.remove(channel_id)
            self._audit(uow, actor, "channel.remove", ch, kept_disabled=not dropped)
            uow.commit()

    def test(self, actor: Principal, channel_id: int) -> dict[str, Any]:
        """Send a test message now, outside the outbox; say whether the channel took it."""
        with self._uow() as uow:
            ch = self._get(uow, actor, channel_id)
        notice = Notice(
            "[Custos] 测试消息 test message",
            f"通知渠道“{ch.name}”的测试消息，由 {actor.username} 发送。"
            f" A test of channel {ch.name!r}, sent by {actor.username}.",
            {"test": True, "channel_id": channel_id},
        )
        error: str | None = None
        try:
            self._sender.send(ch, notice)
        except DeliveryError as exc:
            error = redact(str(exc), ch.url, ch.secret) or type(exc).__name__
        with self._uow() as uow:
            self._audit(uow, actor, "channel.test", ch, ok=error is None, error=error)
            uow.commit()
        return {"channel_id": channel_id, "ok": error is None, "error": error}

    # ---- the rota ---------------------------------------------------------------------------
    def rota(self, actor: Principal, unit_id: int | None) -> list[list[RotaEntry]]:
        """The unit's rota, level by level (level 0 first)."""
        _may_keep(actor, unit_id)
        with self._uow() as uow:
            _unit_exists(uow, unit_id)
            return _levels(uow.rota.entries(unit_id))

    def people(self, actor: Principal, unit_id: int | None) -> list[dict[str, Any]]:
        """Who may stand in the unit's rota: its active users (the system's: users of no unit)."""
        _may_keep(actor, unit_id)
        with self._uow() as uow:
            _unit_exists(uow, unit_id)
            users = [u for u in uow.users.find() if u.active and u.unit_id == unit_id]
        return [{"id": u.id, "username": u.username, "full_name": u.full_name,
                 "role": u.role.value} for u in users]  # fmt: skip

    def set_rota(
        self, actor: Principal, unit_id: int | None, levels: Sequence[Sequence[RotaEntry]]
    ) -> list[list[RotaEntry]]:
        logged = refusals_logged(
            self._uow, self._clock, actor, "rota.set", "unit", unit_id, {"unit_id": unit_id}
        )
        with logged, self._uow() as uow:
            _may_keep(actor, unit_id)
            _unit_exists(uow, unit_id)
            entries = self._checked_rota(uow, unit_id, levels)
            uow.rota.replace(unit_id, entries)
            detail = {"unit_id": unit_id, "levels": [
                [{"user_id": e.user_id, "channel_id": e.channel_id} for e in level]
                for level in _levels(entries)
            ]}  # fmt: skip
            uow.audit.append(
                AuditEvent(self._clock.now(), actor.username, "rota.set", "unit",
                           str(unit_id) if unit_id is not None else "system", detail=detail)
            )  # fmt: skip
            uow.commit()
            return _levels(entries)

    # ---- helpers ----------------------------------------------------------------------------
    def _checked_rota(
        self, uow: DeliveryUnitOfWork, unit_id: int | None, levels: Sequence[Sequence[RotaEntry]]
    ) -> list[RotaEntry]:
        errors: list[FieldError] = []
        if len(levels) > MAX_ROTA_LEVELS:
            errors.append(FieldError("levels", f"at most {MAX_ROTA_LEVELS} levels"))
        channels = {c.id for c in uow.channels.find([unit_id]) if c.unit_id == unit_id}
        out: list[RotaEntry] = []
        for i, level in enumerate(levels):
            if not level or len(level) > MAX_ENTRIES_PER_LEVEL:
                errors.append(FieldError(
                    f"levels[{i}]", f"a level holds 1 to {MAX_ENTRIES_PER_LEVEL} entries"))  # fmt: skip
            for j, e in enumerate(level):
                where = f"levels[{i}][{j}]"
                if e.user_id is None and e.channel_id is None:
                    errors.append(FieldError(where, "an entry names a person, a channel, or both"))
                if e.channel_id is not None and e.channel_id not in channels:
                    errors.append(FieldError(
                        f"{where}.channel_id", "no such channel of this unit"))  # fmt: skip
                if e.user_id is not None and not _user_of(uow, e.user_id, unit_id):
                    errors.append(FieldError(
                        f"{where}.user_id", "no such user in this unit"))  # fmt: skip
                out.append(RotaEntry(i, e.user_id, e.channel_id))
        if errors:
            raise ValidationFailed(errors)
        return out

    def _check(self, kind: ChannelKind, url: str, secret: str | None) -> None:
        errors: list[FieldError] = []
        problem = self._url_problem(kind, url)
        if problem is not None:
            errors.append(
                FieldError("url", problem, key="refusal.channel_url", params={"reason": problem})
            )
        if kind is ChannelKind.WEBHOOK and (secret is None or len(secret) < MIN_SECRET):
            errors.append(FieldError("secret", f"a webhook needs an HMAC secret of at least "
                                     f"{MIN_SECRET} characters"))  # fmt: skip
        if errors:
            raise ValidationFailed(errors)

    def _get(self, uow: DeliveryUnitOfWork, actor: Principal, channel_id: int) -> Channel:
        actor.require(Permission.NOTIFY_MANAGE)
        ch = uow.channels.get(channel_id)
        if ch is None or not _reaches(actor, ch.unit_id):
            raise NotFound("channel", channel_id)
        return ch

    def _audit(
        self, uow: DeliveryUnitOfWork, actor: Principal, action: str, ch: Channel, **more: Any
    ) -> None:
        detail = {"name": ch.name, "kind": ch.kind.value, "unit_id": ch.unit_id,
                  "target": ch.masked, "enabled": ch.enabled, **more}  # fmt: skip
        uow.audit.append(
            AuditEvent(
                self._clock.now(), actor.username, action, "channel", str(ch.id), detail=detail
            )
        )


def _reaches(actor: Principal, unit_id: int | None) -> bool:
    if actor.role in UNIT_SCOPED_ROLES:
        return unit_id is not None and unit_id == actor.unit_id
    return True


def _may_keep(actor: Principal, unit_id: int | None) -> None:
    actor.require(Permission.NOTIFY_MANAGE)
    if unit_id is None and actor.role in UNIT_SCOPED_ROLES:
        raise PermissionDenied("the system's channels and rota are kept by administrators")
    if not _reaches(actor, unit_id):
        raise NotFound("unit", unit_id)


def _unit_exists(uow: DeliveryUnitOfWork, unit_id: int | None) -> None:
    if unit_id is not None and uow.units.get(unit_id) is None:
        raise NotFound("unit", unit_id)


def _user_of(uow: DeliveryUnitOfWork, user_id: int, unit_id: int | None) -> bool:
    user = uow.users.get(user_id)
    return user is not None and (unit_id is None or user.unit_id in (unit_id, None))


def _levels(entries: Sequence[RotaEntry]) -> list[list[RotaEntry]]:
    out: list[list[RotaEntry]] = []
    for e in entries:
        while len(out) <= e.level:
            out.append([])
        out[e.level].append(e)
    return [level for level in out if level]
