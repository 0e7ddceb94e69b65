"""The one error hierarchy of Custos.

Services raise these; the API maps them to HTTP status in one place. Nothing else in Custos
defines its own exception base.

    CustosError
    ├── ValidationFailed        input breaks rules; carries FieldErrors            422
    │   ├── RuleRefusal         refused by the rule engine; each error has rule_id 422
    │   └── InvalidTransition   a lifecycle step out of order                      422
    ├── NotFound                no such thing (kind, id)                           404
    ├── Conflict                uniqueness, e.g. a duplicate address code          409
    ├── PermissionDenied        known caller, not allowed                          403
    ├── AuthenticationFailed    the caller could not be identified                 401
    │   └── SignInThrottled     too many failures for a name from one address;     429
    │                           paused until an aware time
    └── CalendarNotCovered      no working-day data for a year; fail closed        503 + alert

The status codes are what the API's error map is meant to do; this module knows no HTTP.
Messages never carry secrets (passwords, stream URLs, tokens).
"""

# The names are the domain's words (NotFound, Conflict…), not "...Error": hence N818 off.
# ruff: noqa: N818

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime


class CustosError(Exception):
    """Base of every error Custos raises on purpose."""


@dataclass(frozen=True)
class FieldError:
    """One reason an input was refused.

    ``field`` names the input (``"address_code"``, ``"cameras[3].location"``); ``reason`` says
    exactly what is wrong. ``rule_id`` (``"chongqing-2016:art10.i1"``) and ``article`` (human
    readable, e.g. ``"Chongqing Measures art. 10 item 1"``) are set when a regulation is the reason.
    ``key`` and ``params`` name the message in the catalogue (``refusal.prohibited_location``,
    ``{"categories": ["changing_room"]}``) so that each client renders it in its user's language;
    ``reason`` is the same message in English, for logs and scripts.
    """

    field: str
    reason: str
    rule_id: str | None = None
    article: str | None = None
    # how it is said, not what it is: two refusals of the same field for the same reason and
    # rule are equal whatever their message key
    key: str | None = dataclasses.field(default=None, compare=False)
    params: Mapping[str, object] = dataclasses.field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        cited = ", ".join(part for part in (self.rule_id, self.article) if part)
        return f"{self.field}: {self.reason}" + (f" [{cited}]" if cited else "")


class ValidationFailed(CustosError):
    """The input breaks one or more rules. Carries at least one :class:`FieldError`."""

    def __init__(self, errors: FieldError | Iterable[FieldError]) -> None:
        found = [errors] if isinstance(errors, FieldError) else list(errors)
        if not found:
            raise ValueError(f"{type(self).__name__} needs at least one FieldError")
        self._errors = tuple(found)
        super().__init__(str(self))

    @property
    def errors(self) -> list[FieldError]:
        """The field errors, in the order found (a copy; the exception is not changed)."""
        return list(self._errors)

    def __str__(self) -> str:
        return "; ".join(str(error) for error in self._errors)


class RuleRefusal(ValidationFailed):
    """The rule engine refuses: every :class:`FieldError` names the rule (``rule_id``)."""

    def __init__(self, errors: FieldError | Iterable[FieldError]) -> None:
        super().__init__(errors)
        missing = [error.field for error in self._errors if not error.rule_id]
        if missing:
            raise ValueError(f"RuleRefusal errors without a rule_id: {', '.join(missing)}")

    @property
    def rule_ids(self) -> list[str]:
        """The ids of the refusing rules, in order, without repeats."""
        return list(dict.fromkeys(error.rule_id for error in self._errors if error.rule_id))


class InvalidTransition(ValidationFailed):
    """A lifecycle transition out of order, e.g. ``planned`` straight to ``in_service``."""

    def __init__(
        self,
        current: str,
        requested: str,
        *,
        field: str = "state",
        reason: str | None = None,
        rule_id: str | None = None,
        article: str | None = None,
    ) -> None:
        self.current = current
        self.requested = requested
        why = reason or f"cannot go from {current!r} to {requested!r}"
        super().__init__(FieldError(field, why, rule_id, article))


class NotFound(CustosError):
    """No ``kind`` with this ``id`` exists (or the caller may not know that it does)."""

    def __init__(self, kind: str, id: object) -> None:
        self.kind = kind
        self.id = id
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.kind} {self.id!s} not found"


class Conflict(CustosError):
    """The change would break uniqueness or a concurrent edit, e.g. a duplicate address code."""

    def __init__(
        self,
        field: str,
        reason: str,
        rule_id: str | None = None,
        article: str | None = None,
        key: str | None = None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        self.field = field
        self.reason = reason
        self.rule_id, self.article = rule_id, article  # when a regulation is the reason
        self.key, self.params = key, dict(params or {})  # the message, as FieldError's
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"conflict on {self.field}: {self.reason}"


class PermissionDenied(CustosError):
    """The caller is known but may not do this."""

    def __init__(self, reason: str = "permission denied") -> None:
        self.reason = reason
        super().__init__(reason)

    def __str__(self) -> str:
        return self.reason


class AuthenticationFailed(CustosError):
    """Who the caller is could not be established.

    The message is deliberately the same for an unknown user and a wrong password.
    """

    def __init__(self, reason: str = "authentication failed") -> None:
        self.reason = reason
        super().__init__(reason)

    def __str__(self) -> str:
        return self.reason


class SignInThrottled(AuthenticationFailed):
    """Too many failed sign-ins for one name from one address: paused ``until`` an aware time.

    Raised alike for known and unknown names, so it tells nothing about which names exist.
    ``retry_after_s`` is the whole seconds from the refusal to ``until`` (at least 1).
    """

    def __init__(self, until: datetime, retry_after_s: int) -> None:
        if until.tzinfo is None or until.utcoffset() is None:
            raise ValueError("SignInThrottled.until must be timezone-aware")
        self.until = until
        self.retry_after_s = max(1, retry_after_s)
        super().__init__(
            "too many failed sign-ins for this name from this address; "
            f"try again after {until.isoformat()}"
        )


class CalendarNotCovered(CustosError):
    """The working-day calendar has no data for ``year``; Custos refuses to guess (T-02)."""

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(str(self))

    def __str__(self) -> str:
        return (
            f"the working-day calendar does not cover {self.year}; load the State Council "
            "holiday notice for that year before computing working-day deadlines"
        )
