"""``custos onvif``: discover ONVIF cameras on one interface and list what is proposed.

Discovery only *proposes*: a unit manager accepts or dismisses each proposal (API or web UI).
The ONVIF password is read from an environment variable, never from the command line (where
``ps`` would show it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from custos.domain.errors import CustosError
from custos.domain.onvif import Credentials, ProposalStatus
from custos.domain.users import SYSTEM
from custos.entrypoints.cli.options import RECORD_ID, data_dir_option, fail, open_custos


@click.group()
def onvif() -> None:
    """ONVIF cameras: discovery and proposals."""


@onvif.command("discover")
@click.option("--unit", "unit_id", type=RECORD_ID, required=True, help="Propose to this unit")
@click.option("--interface", default=None, help="Probe from this interface (e.g. eth0)")
@click.option("--address", default=None, help="…or from the interface with this IPv4 address")
@click.option("--username", default=None, help="ONVIF user to read the devices with")
@click.option(
    "--password-env",
    default="CUSTOS_ONVIF_PASSWORD",
    show_default=True,
    help="Environment variable holding the ONVIF password",
)
@click.option("--timeout", "timeout_s", type=click.FloatRange(0.5, 30), default=3.0,
              show_default=True, help="Seconds to listen for answers")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
@data_dir_option
def discover(
    unit_id: int,
    interface: str | None,
    address: str | None,
    username: str | None,
    password_env: str,
    timeout_s: float,
    as_json: bool,
    data_dir: Path | None,
) -> None:
    """WS-Discovery on one interface; each device found becomes a proposal of the unit."""
    if not interface and not address:
        raise click.UsageError("give --interface or --address")
    creds = Credentials(username, os.environ.get(password_env, "")) if username else None
    container = open_custos(data_dir)
    try:
        found = container.onboarding.discover(SYSTEM, unit_id, interface, address, creds,
                                              timeout_s)  # fmt: skip
    except CustosError as exc:
        fail(exc)
    finally:
        container.close()
    _show([p.as_dict() for p in found], as_json)


@onvif.command("proposals")
@click.option("--status", type=click.Choice([s.value for s in ProposalStatus]), default=None)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
@data_dir_option
def proposals(status: str | None, as_json: bool, data_dir: Path | None) -> None:
    """The proposals, newest last."""
    container = open_custos(data_dir)
    try:
        found = container.onboarding.list(SYSTEM, ProposalStatus(status) if status else None)
    finally:
        container.close()
    _show([p.as_dict() for p in found], as_json)


def _show(rows: list[dict[str, object]], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no devices found")
    for p in rows:
        what = " ".join(str(p[k]) for k in ("manufacturer", "model", "serial") if p[k])
        drift = p["clock_drift_s"]
        clock = f"clock {drift:+.1f} s" if isinstance(drift, float) else "clock not read"
        problem = f"  ! {p['probe_error']}" if p["probe_error"] else ""
        click.echo(f"#{p['id']} [{p['status']}] {p['xaddr']}  {what or '?'}  {clock}{problem}")
