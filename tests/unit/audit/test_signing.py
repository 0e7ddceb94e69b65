"""The checkpoint key: created once with 0600, reloaded, refused when exposed; Ed25519 checks."""

from __future__ import annotations

import hashlib
import stat
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from custos.adapters.signing import (
    KEY_FILE,
    PUBLIC_FILE,
    Ed25519Signer,
    TrustedKeys,
    load_or_create_signer,
    read_public_key,
)
from custos.domain.audit_chain import Checkpoint, checkpoint_statement

AT = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def _signed(signer: Ed25519Signer, size: int = 3) -> Checkpoint:
    root, chain = b"\x01" * 32, b"\x02" * 32
    sig = signer.sign(checkpoint_statement(size, root, chain, AT, signer.key_id))
    return Checkpoint(size, root, chain, AT, signer.key_id, sig)


def test_the_key_is_created_0600_at_first_start_and_the_same_key_comes_back(
    tmp_path: Path,
) -> None:
    first = load_or_create_signer(tmp_path / "keys")
    mode = stat.S_IMODE((tmp_path / "keys" / KEY_FILE).stat().st_mode)
    assert mode == 0o600
    again = load_or_create_signer(tmp_path / "keys")
    assert again.public_key == first.public_key
    assert first.key_id == hashlib.sha256(first.public_key).hexdigest()[:16]
    published = (tmp_path / "keys" / PUBLIC_FILE).read_text().strip()
    assert read_public_key(published) == first.public_key
    assert read_public_key(str(tmp_path / "keys" / PUBLIC_FILE)) == first.public_key


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    load_or_create_signer(tmp_path)
    (tmp_path / KEY_FILE).chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        load_or_create_signer(tmp_path)


def test_the_private_key_never_shows_in_a_repr() -> None:
    signer = Ed25519Signer.generate()
    assert "hidden" in repr(signer)
    assert "PRIVATE" not in repr(signer)


def test_a_good_signature_from_a_trusted_key_passes() -> None:
    signer = Ed25519Signer.generate()
    assert TrustedKeys.of(signer.public_key)(_signed(signer)) is None


def test_a_checkpoint_from_an_untrusted_key_is_refused_by_name() -> None:
    ours, theirs = Ed25519Signer.generate(), Ed25519Signer.generate()
    why = TrustedKeys.of(ours.public_key)(_signed(theirs))
    assert why is not None
    assert theirs.key_id in why


def test_a_checkpoint_whose_content_changed_after_signing_is_refused() -> None:
    signer = Ed25519Signer.generate()
    trusted = TrustedKeys.of(signer.public_key)
    cp = _signed(signer)
    assert trusted(replace(cp, tree_size=4)) is not None
    assert trusted(replace(cp, root=b"\x09" * 32)) is not None
    # Claiming the trusted key id on someone else's signature fails too.
    other = _signed(Ed25519Signer.generate())
    assert trusted(replace(other, key_id=signer.key_id)) is not None


def test_a_public_key_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        read_public_key("abcd")
