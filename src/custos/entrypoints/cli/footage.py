"""``custos footage delete``: footage administration."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from custos.entrypoints.cli.options import RECORD_ID, data_dir_option, open_custos


@click.group()
def footage() -> None:
    """Footage administration."""


@footage.command("import")
@data_dir_option
@click.argument("camera_id", type=RECORD_ID)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--start",
    "start",
    required=True,
    help="wall-clock time of the first frame (ISO 8601, with zone)",
)
@click.option("--purpose", required=True, help="why this footage is brought in")
def import_(data_dir: Path | None, camera_id: int, file: Path, start: str, purpose: str) -> None:
    """Import an MP4/TS FILE of CAMERA_ID as sealed, indexed segments (exit 1 if refused)."""
    from datetime import datetime

    from custos.domain.errors import CustosError
    from custos.domain.users import SYSTEM
    from custos.services.footage_import import ImportRequest

    try:
        start_at = datetime.fromisoformat(start)
    except ValueError:
        click.echo(f"refused: start: {start!r} is not an ISO 8601 time", err=True)
        sys.exit(1)
    c = open_custos(data_dir)
    try:
        done = c.imports.import_file(
            SYSTEM, ImportRequest(camera_id, file, file.name, start_at, purpose)
        )
    except CustosError as exc:
        click.echo(f"refused: {exc}", err=True)
        sys.exit(1)
    click.echo(json.dumps({**done.record.as_dict(), "segment_ids": [s.id for s in done.segments]}))


@footage.command("delete")
@data_dir_option
@click.argument("segment_id", type=RECORD_ID)
def delete(data_dir: Path | None, segment_id: int) -> None:
    """Delete one segment: refused inside retention, under a hold or a freeze (exit 1)."""
    from custos.domain.errors import CustosError
    from custos.domain.users import SYSTEM

    c = open_custos(data_dir)
    try:
        r = c.retention.delete_segment(SYSTEM, segment_id)
    except CustosError as exc:
        click.echo(f"refused: {exc}", err=True)
        sys.exit(1)
    click.echo(json.dumps({"deleted": r.deleted, "bytes": r.bytes}))
