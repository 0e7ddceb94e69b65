"""The export key on disk: sealed by the secret box, 0600, rotated with dates, never shown."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from custos.adapters.crypto import FernetSecretBox
from custos.adapters.evidence_keys import INDEX_FILE, KEY_DIR, ExportKeyring
from custos.domain.evidence import fingerprint, grouped, key_id

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_the_key_is_made_once_sealed_and_private(tmp_path: Path) -> None:
    ring = ExportKeyring(tmp_path, FernetSecretBox(Fernet.generate_key()))
    made = ring.ensure(T0)
    assert ring.ensure(T0 + timedelta(days=1)) == made  # made at first start only
    (sealed,) = (tmp_path / KEY_DIR).iterdir()
    assert stat.S_IMODE(sealed.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" not in sealed.read_bytes()  # sealed, not plain PEM
    assert sealed.name == f"{made.key_id}.key"
    signer = ring.current()
    assert "hidden" in repr(signer) and signer.public_key == made.public_key
    Ed25519PublicKey.from_public_bytes(made.public_key).verify(signer.sign(b"m"), b"m")
    index = json.loads((tmp_path / INDEX_FILE).read_text())
    assert index == [{"public_key": made.public_key.hex(), "created_at": index[0]["created_at"],
                      "retired_at": None}]  # fmt: skip


def test_rotation_retires_the_old_key_with_its_date(tmp_path: Path) -> None:
    box = FernetSecretBox(Fernet.generate_key())
    ring = ExportKeyring(tmp_path, box)
    old = ring.ensure(T0)
    new = ring.rotate(T0 + timedelta(days=30))
    listed = ExportKeyring(tmp_path, box).published()  # as another process reads it
    assert [k.fingerprint for k in listed] == [old.fingerprint, new.fingerprint]
    assert listed[0].retired_at == T0 + timedelta(days=30) and listed[1].current
    assert ExportKeyring(tmp_path, box).current().public_key == new.public_key


def test_fingerprints_and_key_ids() -> None:
    raw = bytes(range(32))
    fp = fingerprint(raw)
    assert len(fp) == 64 and key_id(fp) == fp[:16]
    assert grouped(fp).split(" ")[0] == fp[:4] and len(grouped(fp).split(" ")) == 16
