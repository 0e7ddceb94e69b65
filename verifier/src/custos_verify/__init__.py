"""Verify a Custos evidence package (format ``custos-evidence/1``) with no server and no database.

It depends on ``cryptography`` only and never imports custos: the format's names, the canonical
checkpoint statement and the RFC 6962 inclusion check are written here again.
"""

from custos_verify.checks import Failure, Step, verify_package

__all__ = ["Failure", "Step", "verify_package"]
__version__ = "1.0.0"
