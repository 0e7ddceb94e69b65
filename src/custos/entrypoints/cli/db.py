"""``custos db``: database administration."""

from __future__ import annotations

from pathlib import Path

import click

from custos.entrypoints.cli.options import build_settings, data_dir_option


@click.group()
def db() -> None:
    """Database administration."""


@db.command("upgrade")
@data_dir_option
def db_upgrade(data_dir: Path | None) -> None:
    """Apply every pending migration."""
    from custos.bootstrap import migrate

    migrate(build_settings(data_dir))
    click.echo("database is at the latest revision")
