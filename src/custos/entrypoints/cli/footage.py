"""``custos footage delete``: footage administration."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from custos.bootstrap import Container
from custos.entrypoints.cli.options import build_settings, data_dir_option, require_database


def _container(data_dir: Path | None) -> Container:
    from custos.bootstrap import bootstrap

    settings = build_settings(data_dir)
    require_database(settings)
    return bootstrap(settings)


@click.group()
def footage() -> None:
    """Footage administration."""


@footage.command("delete")
@data_dir_option
@click.argument("segment_id", type=int)
def delete(data_dir: Path | None, segment_id: int) -> None:
    """Delete one segment: refused inside retention, under a hold or a freeze (exit 1)."""
    from custos.domain.errors import CustosError
    from custos.domain.users import SYSTEM

    c = _container(data_dir)
    try:
        r = c.retention.delete_segment(SYSTEM, segment_id)
    except CustosError as exc:
        click.echo(f"refused: {exc}", err=True)
        sys.exit(1)
    click.echo(json.dumps({"deleted": r.deleted, "bytes": r.bytes}))
