"""``custos user``: user administration."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click

from custos.domain.access import Role
from custos.domain.errors import CustosError, ValidationFailed
from custos.domain.users import SYSTEM
from custos.entrypoints.cli.options import (
    RECORD_ID,
    CannotRun,
    build_settings,
    data_dir_option,
    fail,
)
from custos.services.auth import MIN_PASSWORD_LENGTH, new_user_errors

NAME_RULE = "3–64 characters: lowercase letters, digits, '.', '_' or '-'"
PASSWORD_RULE = f"at least {MIN_PASSWORD_LENGTH} characters"


@click.group()
def user() -> None:
    """User administration."""


@user.command("create", epilog=f"NAME: {NAME_RULE}. Password: {PASSWORD_RULE}.")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option(
    "--unit", "unit_id", type=RECORD_ID, default=None, help="Unit id, for unit-scoped roles"
)
@data_dir_option
def user_create(name: str, role: str, unit_id: int | None, data_dir: Path | None) -> None:
    """Create a user; the password is read from standard input, never from the command line.

    Nothing is written until the name, role and password are found valid; a data directory that
    was never set up is set up (migrated) then."""
    from custos.bootstrap import bootstrap, migrate, schema_state

    settings = build_settings(data_dir)
    _refuse_invalid(name, Role(role), "x" * MIN_PASSWORD_LENGTH, unit_id)
    password = _read_password()
    _refuse_invalid(name, Role(role), password, unit_id)
    if unit_id is not None and schema_state(settings) == "missing":
        raise CannotRun(f"unit_id: no unit with id {unit_id} (there is no database yet)")
    migrate(settings)
    container = bootstrap(settings)
    try:
        created = container.auth.create_user(SYSTEM, name, Role(role), password, unit_id)
    except CustosError as exc:
        fail(exc)
    finally:
        container.close()
    click.echo(f"created user {created.username} ({created.role}) with id {created.id}")


def _refuse_invalid(name: str, role: Role, password: str, unit_id: int | None) -> None:
    errors = new_user_errors(name, role, password, unit_id)
    if errors:
        raise CannotRun(str(ValidationFailed(errors)))


def _read_password() -> str:
    if sys.stdin.isatty():
        click.echo(f"Password for the new user ({PASSWORD_RULE}); it is not shown as you type.")
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Repeat password: "):
            raise CannotRun("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")
