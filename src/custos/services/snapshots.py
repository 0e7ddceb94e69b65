"""JSON-able snapshots of domain objects for the audit log. Secrets never leave redacted."""

from __future__ import annotations

import dataclasses
import enum
from datetime import date, datetime
from typing import Any

from custos.domain.registry import StreamUrl
from custos.domain.users import User


def snapshot(obj: Any) -> dict[str, Any]:
    if isinstance(obj, User):
        return {
            "id": obj.id,
            "username": obj.username,
            "role": obj.role.value,
            "unit_id": obj.unit_id,
        }
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        raise TypeError(f"cannot snapshot {type(obj).__name__}")
    return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def _plain(value: Any) -> Any:
    if isinstance(value, StreamUrl):
        return value.redacted()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
