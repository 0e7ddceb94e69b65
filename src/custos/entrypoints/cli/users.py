"""``custos user``: user administration."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click

from custos.domain.access import Role
from custos.domain.errors import CustosError
from custos.domain.users import SYSTEM
from custos.entrypoints.cli.options import build_settings, data_dir_option, fail


@click.group()
def user() -> None:
    """User administration."""


@user.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--unit", "unit_id", type=int, default=None, help="Unit id, for unit-scoped roles")
@data_dir_option
def user_create(name: str, role: str, unit_id: int | None, data_dir: Path | None) -> None:
    """Create a user; the password is read from standard input, never from the command line."""
    from custos.bootstrap import bootstrap

    password = _read_password()
    container = bootstrap(build_settings(data_dir))
    try:
        created = container.auth.create_user(SYSTEM, name, Role(role), password, unit_id)
    except CustosError as exc:
        fail(exc)
    finally:
        container.close()
    click.echo(f"created user {created.username} ({created.role}) with id {created.id}")


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Repeat password: "):
            click.echo("error: the passwords differ", err=True)
            sys.exit(2)
        return first
    return sys.stdin.readline().rstrip("\r\n")
