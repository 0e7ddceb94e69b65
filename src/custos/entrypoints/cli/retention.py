"""``custos retention purge|policy``: what must be kept, and the purge of what need not be."""

from __future__ import annotations

import json
from pathlib import Path

import click

from custos.entrypoints.cli.options import RECORD_ID, data_dir_option, open_custos


@click.group()
def retention() -> None:
    """Retention: what must be kept, and the purge of what need not be."""


@retention.command("purge")
@data_dir_option
def purge(data_dir: Path | None) -> None:
    """Delete footage past retention that no hold protects and no request freezes."""
    c = open_custos(data_dir)
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
@data_dir_option
@click.argument("camera_id", type=RECORD_ID)
def policy(data_dir: Path | None, camera_id: int) -> None:
    """A camera's retention in days, its floor and the articles behind it."""
    c = open_custos(data_dir)
    p = c.retention.policy_for(camera_id)
    click.echo(json.dumps({"camera_id": camera_id, "days": p.days, "floor": p.floor.as_dict()}))
