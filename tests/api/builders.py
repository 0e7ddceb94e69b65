"""Valid registry payloads to start from; tests change one field at a time."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from custos.domain.codes import credit_check_character

API = "/api/v1"
PASSWORD = "correct horse battery staple"


def credit_code(n: int, division: str = "110105") -> str:
    """A valid 18-character unified social credit code (GB 32100) numbered ``n``."""
    first17 = f"91{division}{n:08d}X"[:17]
    first17 = first17[:16] + "1"
    return first17 + credit_check_character(first17)


def unit_body(n: int = 1, kind: str = "enterprise", **over: Any) -> dict[str, Any]:
    body = {
        "name": f"Unit {n}",
        "credit_code": credit_code(n),
        "kind": kind,
        "contacts": [{"name": "张三", "phone": "+86 10 1234 5678", "role": "security"}],
    }
    return body | over


def site_body(unit_id: int, division: str = "110105", **over: Any) -> dict[str, Any]:
    body = {
        "unit_id": unit_id,
        "name": "Main building",
        "division_code": division,
        "address": "1 Example Road",
        "is_public_place": True,
        "public_place_article": "art7_p2",
        "categories": ["shopping_mall"],
        "latitude": 39.9,
        "longitude": 116.4,
    }
    return body | over


def address_code(division: str, serial: int, type_code: str = "132", network: str = "0") -> str:
    return f"{division}00" + "00" + type_code + network + f"{serial:06d}"


def camera_body(
    site_id: int, division: str = "110105", serial: int = 1, **over: Any
) -> dict[str, Any]:
    body = {
        "site_id": site_id,
        "address_code": address_code(division, serial),
        "name": f"Entrance {serial}",
        "location_categories": ["shopping_mall"],
        "device_type": "IPC",
        "manufacturer": "Acme",
        "model": "X1",
        "install_position": "north entrance, 3 m",
        "field_of_view": "entrance and lobby",
        "covers_public_area": True,
        "signage": {"installed": True, "installed_on": "2026-01-05"},
        "main_stream_url": "rtsp://viewer:s3cret-pw@192.0.2.10:554/main",
        "retention_days": 30,
    }
    return body | over


def make_unit(client: TestClient, headers: dict[str, str], n: int = 1, **over: Any) -> int:
    r = client.post(f"{API}/units", json=unit_body(n, **over), headers=headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def make_site(
    client: TestClient, headers: dict[str, str], unit_id: int, division: str = "110105", **over: Any
) -> int:
    r = client.post(f"{API}/sites", json=site_body(unit_id, division, **over), headers=headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def rule_ids(response_json: dict[str, Any]) -> set[str]:
    return {e["rule_id"] for e in response_json.get("errors", []) if e.get("rule_id")}


def fields(response_json: dict[str, Any]) -> set[str]:
    return {e["field"] for e in response_json.get("errors", [])}
