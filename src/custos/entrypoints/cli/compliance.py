"""``custos compliance``: compliance reports."""

from __future__ import annotations

import json
from pathlib import Path

import click

from custos.domain.errors import CustosError
from custos.domain.users import SYSTEM
from custos.entrypoints.cli.options import (
    RECORD_ID,
    build_settings,
    data_dir_option,
    fail,
    require_database,
)


@click.group()
def compliance() -> None:
    """Compliance reports."""


@compliance.command("report")
@click.option("--unit", "unit_id", type=RECORD_ID, default=None, help="Only this unit")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
@data_dir_option
def compliance_report(unit_id: int | None, as_json: bool, data_dir: Path | None) -> None:
    """Findings per unit and site, with severity, citation and fine range."""
    from custos.bootstrap import bootstrap

    settings = build_settings(data_dir)
    require_database(settings)
    container = bootstrap(settings)
    try:
        reports = (
            [container.compliance.unit_report(SYSTEM, unit_id)]
            if unit_id is not None
            else container.compliance.all_units(SYSTEM)
        )
    except CustosError as exc:
        fail(exc)
    finally:
        container.close()
    if as_json:
        click.echo(
            json.dumps([r.as_dict() for r in reports], ensure_ascii=False, indent=2, default=str)
        )
        return
    for report in reports:
        click.echo(report.as_text())
