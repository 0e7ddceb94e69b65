"""The verifier re-states the format instead of importing custos: held here to custos' own
code byte for byte, and kept free of any import of custos."""

from __future__ import annotations

import ast
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import custos_verify
from custos_verify import format as restated

from custos.domain import evidence, merkle
from custos.domain.audit_chain import LOG_ORIGIN, checkpoint_statement

SOURCES = Path(custos_verify.__file__).parent


def test_the_checkpoint_statement_is_custos_own() -> None:
    at = datetime(2026, 11, 20, 2, 0, 0, 40_000, tzinfo=UTC)
    root, chain = bytes(range(32)), bytes(range(32, 64))
    expected = checkpoint_statement(1_000_003, root, chain, at, "0123456789abcdef")
    got = restated.checkpoint_statement(
        1_000_003, root.hex(), chain.hex(), "2026-11-20T02:00:00.040000Z", "0123456789abcdef"
    )
    assert got == expected
    assert restated.LOG_ORIGIN == LOG_ORIGIN


def test_the_inclusion_check_agrees_with_custos_merkle_for_every_leaf_of_small_trees() -> None:
    for size in range(1, 34):
        leaves = merkle.leaf_hashes(f"entry {i}".encode() for i in range(size))
        top = merkle.root(leaves)
        for i in range(size):
            path = merkle.inclusion_path(leaves, i)
            assert restated.root_from_inclusion(i, size, leaves[i], path) == top
            if path:
                wrong = [*path[:-1], bytes(32)]
                assert restated.root_from_inclusion(i, size, leaves[i], wrong) != top
        assert restated.leaf_hash(b"entry 0") == merkle.leaf_hash(b"entry 0")


def test_the_names_are_custos_own() -> None:
    assert restated.FORMAT == evidence.FORMAT
    assert restated.FIXED_NAMES == evidence.FIXED_NAMES
    assert restated.OPTIONAL_NAMES == evidence.OPTIONAL_NAMES == (evidence.CUSTODY,)
    assert restated.EXPORT_ACTION == evidence.EXPORT_ACTION
    assert restated.VIDEO_DIR == evidence.VIDEO_DIR
    key = bytes(range(32))
    assert restated.fingerprint(key) == evidence.fingerprint(key)
    assert restated.grouped(restated.fingerprint(key)) == evidence.grouped(
        evidence.fingerprint(key)
    )


def test_the_verifier_never_imports_custos() -> None:
    for source in SOURCES.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n == "custos" or n.startswith("custos.") for n in names), source
    probe = "import sys, custos_verify.cli; print(sorted(m for m in sys.modules if m.split('.')[0] == 'custos'))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
