"""Detection and masking for copies for publication (docs/design/evidence.md)."""
