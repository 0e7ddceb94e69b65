"""``custos keys``: the export key that signs evidence packages, and the log key.

``rotate-export`` retires the current export key (dated now) and makes a new one; packages
signed by the old key stay verifiable by it, and ``list`` (like ``GET /api/v1/keys``) keeps
showing it with its dates.
"""

from __future__ import annotations

from pathlib import Path

import click

from custos.domain.evidence import PublishedKey, grouped
from custos.domain.users import SYSTEM
from custos.entrypoints.cli.options import build_settings, data_dir_option, require_database


@click.group()
def keys() -> None:
    """The public keys: export (signs evidence packages) and log (signs checkpoints)."""


def _line(k: PublishedKey) -> str:
    created = k.created_at.isoformat() if k.created_at else "-"
    retired = k.retired_at.isoformat() if k.retired_at else "current"
    return f"{k.kind.value:6}  {k.key_id}  created {created}  {retired}\n        {grouped(k.fingerprint)}"


@keys.command("list")
@data_dir_option
def list_keys(data_dir: Path | None) -> None:
    """Every export key (current and retired) and the log key, with fingerprints."""
    from custos.bootstrap import bootstrap

    settings = build_settings(data_dir)
    require_database(settings)
    container = bootstrap(settings)
    try:
        for k in container.keys.published():
            click.echo(_line(k))
    finally:
        container.close()


@keys.command("rotate-export")
@data_dir_option
def rotate_export(data_dir: Path | None) -> None:
    """Retire the current export key and make a new one (logged)."""
    from custos.bootstrap import bootstrap

    settings = build_settings(data_dir)
    require_database(settings)
    container = bootstrap(settings)
    try:
        made = container.keys.rotate_export(SYSTEM)
    finally:
        container.close()
    click.echo(f"new export key {made.key_id}\n        {grouped(made.fingerprint)}")
