"""``custos retention purge|policy`` and ``custos footage delete``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from custos.cli_recording import _data_dir, _settings


def _container(data_dir: Path | None):  # type: ignore[no-untyped-def]
    from custos.adapters.db.migrate import upgrade
    from custos.bootstrap import bootstrap

    settings = _settings(data_dir)
    upgrade(settings.resolved_database_url())
    return bootstrap(settings)


@click.group()
def retention() -> None:
    """Retention: what must be kept, and the purge of what need not be."""


@retention.command("purge")
@_data_dir
def purge(data_dir: Path | None) -> None:
    """Delete footage past retention that no hold protects and no request freezes."""
    c = _container(data_dir)
    r = c.retention.purge()
    click.echo(
        json.dumps(
            {
                "batch": r.batch,
                "deleted": len(r.deleted),
                "bytes": r.bytes,
                "kept_held": r.kept_held,
                "kept_frozen": r.kept_frozen,
                "finished_from_earlier_run": r.finished_garbage,
            }
        )
    )


@retention.command("policy")
@_data_dir
@click.argument("camera_id", type=int)
def policy(data_dir: Path | None, camera_id: int) -> None:
    """A camera's retention in days, its floor and the articles behind it."""
    c = _container(data_dir)
    p = c.retention.policy_for(camera_id)
    click.echo(json.dumps({"camera_id": camera_id, "days": p.days, "floor": p.floor.as_dict()}))


@click.group()
def footage() -> None:
    """Footage administration."""


@footage.command("delete")
@_data_dir
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
