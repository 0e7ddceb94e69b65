"""Filed attributes, their difference and the filing it owes (docs/design/filing.md D4)."""

from __future__ import annotations

import copy
from typing import Any

from custos.domain.filing_diff import cameras_in, diff, filed_attributes, kind_of
from custos.domain.rules.facts import FilingKind

A = "21010200001320000001"
B = "21010200001320000002"


def _camera(code: str, **over: Any) -> dict[str, Any]:
    return {
        "address_code": code,
        "name": f"Entrance {code[-1]}",
        "device_type": "IPC",
        "install_position": "north entrance, 3 m",
        "field_of_view": "entrance and lobby",
        "location_categories": ["shopping_mall", "entrance"],
        "signage_installed": True,
        "state": "in_service",
        "id": 7,
    } | over


def _package() -> dict[str, Any]:
    return {
        "format": "custos-filing-package/1",
        "generated_at": "2026-11-20T02:00:00+00:00",
        "system_profile": {
            "name": "Main building",
            "division_code": "210102",
            "address": "1 Example Road",
            "categories": ["shopping_mall"],
        },
        "units": {"user": {"name": "Unit 1"}, "maintainer": {"name": "M", "contact": "1"}},
        "responsible_persons": [{"name": "张三", "phone": "1", "role": "security"}],
        "cameras": [_camera(A), _camera(B)],
        "storage": {
            "description": "NVR",
            "retention": [{"address_code": A, "days": 30, "citations": ["liaoning-2008:art15"]}],
        },
        "network": {"kind": "private", "description": "LAN"},
        "design_scheme": {"sha256": "a" * 64, "filename": "design.pdf"},
    }


def test_attributes_are_flat_stable_and_leave_out_documents_names_and_metadata() -> None:
    attrs = filed_attributes(_package())
    assert attrs["camera_count"] == 2
    assert attrs[f"cameras.{A}.field_of_view"] == "entrance and lobby"
    assert attrs[f"storage.retention.{A}.days"] == 30
    assert attrs["network.kind"] == "private"
    assert attrs["units.maintainer.name"] == "M"
    assert not [k for k in attrs if k.startswith(("design_scheme", "format", "generated_at"))]
    assert not [k for k in attrs if k.startswith("cameras.") and k.endswith((".name", ".state"))]
    reordered = _package()
    reordered["cameras"].reverse()
    reordered["cameras"][0]["location_categories"].reverse()
    assert diff(attrs, filed_attributes(reordered)) == {}


def test_a_camera_name_or_a_new_document_is_no_change() -> None:
    after = _package()
    after["cameras"][0]["name"] = "Renamed"
    after["cameras"][0]["state"] = "changed"  # the change itself moves the camera's state
    after["storage"]["retention"][0]["citations"] = ["national-2025:art15"]
    after["design_scheme"] = {"sha256": "b" * 64, "filename": "design-2.pdf"}
    after["generated_at"] = "2026-12-01T00:00:00+00:00"
    assert diff(filed_attributes(_package()), filed_attributes(after)) == {}


def test_field_of_view_change_is_a_change_with_before_and_after() -> None:
    after = _package()
    after["cameras"][1]["field_of_view"] = "car park"
    changes = diff(filed_attributes(_package()), filed_attributes(after))
    assert changes == {
        f"cameras.{B}.field_of_view": {"before": "entrance and lobby", "after": "car park"}
    }
    assert cameras_in(changes) == [B]
    assert kind_of(changes, cameras_left=2) is FilingKind.CHANGE


def test_moved_camera_or_site_is_a_relocation() -> None:
    moved = _package()
    moved["cameras"][0]["install_position"] = "south gate"
    changes = diff(filed_attributes(_package()), filed_attributes(moved))
    assert kind_of(changes, 2) is FilingKind.RELOCATION
    site = _package()
    site["system_profile"]["address"] = "2 Other Road"
    assert kind_of(diff(filed_attributes(_package()), filed_attributes(site)), 2) == "relocation"


def test_added_camera_is_a_change_not_a_relocation() -> None:
    after = _package()
    after["cameras"].append(_camera("21010200001320000003"))
    changes = diff(filed_attributes(_package()), filed_attributes(after))
    assert changes["camera_count"] == {"before": 2, "after": 3}
    assert changes["cameras.21010200001320000003.install_position"]["before"] is None
    assert kind_of(changes, 3) is FilingKind.CHANGE


def test_no_camera_left_is_a_removal() -> None:
    after = copy.deepcopy(_package())
    after["cameras"] = []
    changes = diff(filed_attributes(_package()), filed_attributes(after))
    assert changes["camera_count"] == {"before": 2, "after": 0}
    assert cameras_in(changes) == [A, B]
    assert kind_of(changes, 0) is FilingKind.REMOVAL


def test_network_units_and_persons_are_filed() -> None:
    after = _package()
    after["network"]["kind"] = "internet"
    after["units"]["maintainer"]["name"] = "New contractor"
    after["responsible_persons"].append({"name": "李四", "phone": "2", "role": "duty"})
    changes = diff(filed_attributes(_package()), filed_attributes(after))
    assert set(changes) == {"network.kind", "units.maintainer.name", "responsible_persons"}
    assert kind_of(changes, 2) is FilingKind.CHANGE
