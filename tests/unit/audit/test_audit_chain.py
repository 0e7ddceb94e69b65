"""The canonical entry, the chain and the signed statement are exactly what the note says."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from custos.domain.audit import AuditEvent, Outcome
from custos.domain.audit_chain import (
    GENESIS,
    Checkpoint,
    canonical_entry,
    canonical_json,
    canonical_time,
    entry_as_dict,
    key_id_of,
    next_chain,
)
from custos.domain.merkle import leaf_hash

AT = datetime(2026, 11, 20, 2, 0, 0, 123456, tzinfo=UTC)
AWKWARD: list[dict[str, Any]] = [
    {},
    {"b": 1, "a": [1, 2.5, None, True], "c": {"z": "", "y": -0.0}},
    {"名称": "东门\u3000入口", "quote": 'say "hi" \\ back', "ctl": "\n\t\r\b\f\x00\x1f\x7f"},
    {"emoji": "🎥", "line sep": "\u2028", "big": 2**70, "small": 1e-300, "neg": -17},
    {"nested": [{"b": 2, "a": 1}, [], {}], "unicode key \u00e9": "é"},
]


def _event(**changes: Any) -> AuditEvent:
    base = AuditEvent(AT, "alice", "camera.view", "camera", "12", Outcome.OK, None, None, {})
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize("detail", AWKWARD)
def test_the_fast_entry_is_byte_for_byte_json_dumps_of_the_sorted_object(
    detail: dict[str, Any],
) -> None:
    e = _event(before=detail or None, after={"x": detail}, detail=detail, object_id=None)
    as_dict = entry_as_dict(7, e)
    reference = json.dumps(
        as_dict, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
    assert canonical_entry(7, e) == reference
    assert canonical_json(json.loads(reference)).encode() == reference  # stable when re-read


def test_the_canonical_entry_reads_as_documented() -> None:
    e = _event(detail={"purpose": "巡查", "b": 2}, before={"k": None})
    assert (
        canonical_entry(3, e)
        == (
            '{"action":"camera.view","actor":"alice","after":null,'
            '"at":"2026-11-20T02:00:00.123456Z","before":{"k":null},'
            '"detail":{"b":2,"purpose":"巡查"},"object_id":"12","object_type":"camera",'
            '"outcome":"ok","seq":3}'
        ).encode()
    )


def test_times_are_utc_with_six_digits_and_z_whatever_zone_they_came_in() -> None:
    shanghai = timezone(timedelta(hours=8))
    assert canonical_time(datetime(2026, 11, 20, 10, 0, tzinfo=shanghai)) == (
        "2026-11-20T02:00:00.000000Z"
    )
    with pytest.raises(ValueError, match="aware"):
        canonical_time(datetime(2026, 11, 20, 10, 0))


def test_nan_cannot_enter_the_log() -> None:
    with pytest.raises(ValueError, match="Out of range float"):
        canonical_entry(1, _event(detail={"x": float("nan")}))


@pytest.mark.parametrize(
    "change",
    [
        {"actor": "mallory"},
        {"action": "camera.export"},
        {"object_type": "site"},
        {"object_id": None},
        {"object_id": "13"},
        {"outcome": Outcome.REFUSED},
        {"at": AT + timedelta(microseconds=1)},
        {"before": {}},
        {"after": {"x": 1}},
        {"detail": {"purpose": "x"}},
    ],
)
def test_any_change_to_an_entry_changes_its_leaf(change: dict[str, Any]) -> None:
    assert leaf_hash(canonical_entry(1, _event(**change))) != leaf_hash(
        canonical_entry(1, _event())
    )


def test_the_position_is_part_of_the_entry() -> None:
    assert canonical_entry(1, _event()) != canonical_entry(2, _event())


def test_the_chain_starts_at_32_zero_bytes_and_hashes_previous_then_leaf() -> None:
    leaf = leaf_hash(b"x")
    assert bytes(32) == GENESIS
    assert next_chain(GENESIS, leaf) == hashlib.sha256(bytes(32) + leaf).digest()


def test_a_checkpoint_signs_its_size_root_chain_time_and_key() -> None:
    cp = Checkpoint(5, b"\x01" * 32, b"\x02" * 32, AT, "0123456789abcdef", b"sig")
    statement = json.loads(cp.statement())
    assert statement == {
        "log": "custos-audit/1",
        "tree_size": 5,
        "root": "01" * 32,
        "chain": "02" * 32,
        "signed_at": "2026-11-20T02:00:00.123456Z",
        "key_id": "0123456789abcdef",
    }
    assert Checkpoint.from_dict(cp.as_dict()) == cp
    for change in ({"tree_size": 6}, {"root": b"\x03" * 32}, {"signed_at": AT + timedelta(1)}):
        assert dataclasses.replace(cp, **change).statement() != cp.statement()


def test_the_key_id_is_the_first_16_hex_of_sha256_of_the_raw_public_key() -> None:
    key = bytes(range(32))
    assert key_id_of(key) == hashlib.sha256(key).hexdigest()[:16]
