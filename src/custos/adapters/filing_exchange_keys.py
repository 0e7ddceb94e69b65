"""Signing and checking the files two systems exchange for a filing (``custos-filing/1``,
``custos-filing-decision/1``; docs/design/filing.md D3).

The system's current export key signs (the key that signs evidence packages: one published
identity per system, ``GET /api/v1/keys``); a received file is checked against the public key it
carries, whose fingerprint the reader compares with the sender's published keys.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

from custos.adapters.evidence_keys import ExportKeyring
from custos.domain.evidence import fingerprint


class ExchangeKeys:
    """The :class:`custos.services.filing_exchange.ExchangeSigner` port."""

    def __init__(self, keyring: ExportKeyring) -> None:
        self._keyring = keyring

    def sign(self, message: bytes) -> tuple[bytes, bytes]:
        """The signature over ``message`` and the signing key's public half (PEM)."""
        signer = self._keyring.current()
        public = Ed25519PublicKey.from_public_bytes(signer.public_key)
        pem = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        return signer.sign(message), pem

    def verify(self, public_key_pem: bytes, message: bytes, signature: bytes) -> str | None:
        """The fingerprint of the key when ``signature`` over ``message`` verifies, else None
        (also when the PEM is not an Ed25519 public key)."""
        try:
            key = load_pem_public_key(public_key_pem)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            return None
        if not isinstance(key, Ed25519PublicKey):
            return None
        try:
            key.verify(signature, message)
        except InvalidSignature:
            return None
        return fingerprint(key.public_bytes(Encoding.Raw, PublicFormat.Raw))
