"""What a filing says about a site, and what changed since it was accepted (obligations §8 F-01).

docs/design/filing.md D4. The **filed attributes** are the package (``domain/filing_package``)
without what F-01 does not name: documents (the design scheme and acceptance report are
evidence of the filing, not attributes of the system), camera names and signage, and
bookkeeping (row ids, lifecycle states, the articles a retention was judged by). Each attribute
is one flat key, stable between packages: cameras are keyed by their GB/T 28181 address code
(``cameras.21010200001320000001.field_of_view``), so a re-ordered camera list is no change, and
a camera added or removed shows as its keys appearing or disappearing.

Pure: no I/O. ``diff`` is what a re-filing task shows; ``kind_of`` names the filing it owes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from custos.domain.rules.facts import FilingKind

#: The parts of a package that hold filed attributes (D2's table less the documents).
FILED_PARTS = ("system_profile", "units", "responsible_persons", "cameras", "storage", "network")
#: Leaves that are bookkeeping, not attributes: row ids, the articles a value was judged by,
#: a camera's lifecycle state (a filed change itself moves it to ``changed``).
_NOT_FILED = frozenset({"id", "site_id", "citations", "state"})
#: A camera's leaves that F-01 does not name (a renamed camera is not a changed system;
#: signage is its own duty, not a filed attribute).
_NOT_FILED_CAMERA = frozenset(
    {"name", "signage", "signage_installed", "signage_installed_on", "signage_photo_ref"}
)
#: Leaves of ``system_profile`` that place the site: a change to one is a relocation.
_SITE_PLACE = frozenset(
    {"division_code", "division", "division_name", "address", "latitude", "longitude", "location"}
)
#: Leaves of a camera that place it: a change to one is a relocation (Xi'an art. 19 迁移).
_CAMERA_PLACE = frozenset({"install_position"})
CAMERA_COUNT = "camera_count"
_KEY = "address_code"


def filed_attributes(package: Mapping[str, Any]) -> dict[str, Any]:
    """The package's filed attributes, one flat key each (JSON values, lists in a stable order)."""
    out: dict[str, Any] = {}
    for part in FILED_PARTS:
        if part in package:
            _flatten(part, package[part], out)
    cameras = package.get("cameras")
    out[CAMERA_COUNT] = len(cameras) if isinstance(cameras, list) else 0
    return out


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every attribute whose value differs: ``{key: {"before": …, "after": …}}`` (None when the
    attribute is absent on that side), keys sorted."""
    return {
        key: {"before": before.get(key), "after": after.get(key)}
        for key in sorted(set(before) | set(after))
        if _canon(before.get(key)) != _canon(after.get(key))
    }


def cameras_in(changes: Mapping[str, Any]) -> list[str]:
    """The address codes of the cameras a diff touches, sorted."""
    return sorted({k.split(".")[1] for k in changes if k.startswith("cameras.") and k.count(".")})


def kind_of(changes: Mapping[str, Any], cameras_left: int) -> FilingKind:
    """The filing a difference owes: removal when no camera is left, relocation when the site's
    place or a camera's position moved, else a change."""
    if cameras_left <= 0:
        return FilingKind.REMOVAL
    for key, values in changes.items():
        parts = key.split(".")
        if parts[0] == "system_profile" and parts[-1] in _SITE_PLACE:
            return FilingKind.RELOCATION
        moved = (
            parts[0] == "cameras"
            and len(parts) == 3
            and parts[2] in _CAMERA_PLACE
            and values.get("before") is not None
            and values.get("after") is not None
        )
        if moved:
            return FilingKind.RELOCATION
    return FilingKind.CHANGE


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        in_camera = prefix.startswith("cameras.") and prefix.count(".") == 1
        for key, item in value.items():
            if str(key) not in _NOT_FILED and not (in_camera and str(key) in _NOT_FILED_CAMERA):
                _flatten(f"{prefix}.{key}", item, out)
        return
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, Mapping) and isinstance(v.get(_KEY), str) for v in value)
    ):
        for item in value:
            _flatten(f"{prefix}.{item[_KEY]}", item, out)
        return
    if isinstance(value, list):
        out[prefix] = sorted(value, key=_canon)
        return
    out[prefix] = value


def _canon(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
