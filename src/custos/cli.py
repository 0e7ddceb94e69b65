"""The ``custos`` command."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from custos.config import Settings
from custos.domain.access import Role
from custos.domain.errors import CustosError
from custos.domain.users import SYSTEM

F = TypeVar("F", bound=Callable[..., Any])


def data_dir_option(func: F) -> F:
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Data directory (default: $CUSTOS_DATA_DIR or ./data)",
    )(func)


def _settings(data_dir: Path | None, **overrides: Any) -> Settings:
    extra = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        extra["data_dir"] = data_dir
    return Settings(**extra)


def _fail(exc: CustosError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(2)


@click.group()
@click.version_option(package_name="custos")
def main() -> None:
    """Custos — public-security video image information system (公共安全视频图像信息系统)."""


@main.command()
@data_dir_option
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1)")
@click.option("--port", type=int, default=None, help="Port (default 8080)")
@click.option("--no-recorder", is_flag=True, help="Serve the API only; run `custos recorder` apart")
def serve(data_dir: Path | None, host: str | None, port: int | None, no_recorder: bool) -> None:
    """Migrate the database, then serve the API, with the recorder in a child process."""
    serve_with_recorder(_settings(data_dir, host=host, port=port), with_recorder=not no_recorder)


def serve_with_recorder(settings: Settings, with_recorder: bool = True) -> None:
    import uvicorn

    from custos.adapters.db.migrate import upgrade
    from custos.api.app import create_app
    from custos.bootstrap import bootstrap
    from custos.housekeeping import Housekeeper
    from custos.recorder.child import RecorderChild

    upgrade(settings.resolved_database_url())
    container = bootstrap(settings)
    if not container.auth.list_users():
        click.echo(
            "No users yet. Create the first administrator with:\n"
            f"  custos user create admin --role admin --data-dir {settings.data_dir}"
        )
    url = f"http://{settings.host}:{settings.port}"
    click.echo(f"Custos is serving at {url}/  (API {url}/api/v1/docs)")
    child = RecorderChild(settings.data_dir, settings.segment_seconds) if with_recorder else None
    if child is not None:
        child.start()
    housekeeper = Housekeeper(container)
    housekeeper.start()
    try:
        uvicorn.run(
            create_app(container), host=settings.host, port=settings.port, log_level="warning"
        )
    finally:
        housekeeper.stop()
        if child is not None:
            child.stop()


@main.group()
def db() -> None:
    """Database administration."""


@db.command("upgrade")
@data_dir_option
def db_upgrade(data_dir: Path | None) -> None:
    """Apply every pending migration."""
    from custos.adapters.db.migrate import upgrade

    settings = _settings(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url())
    click.echo("database is at the latest revision")


@main.group()
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
    container = bootstrap(_settings(data_dir))
    try:
        created = container.auth.create_user(SYSTEM, name, Role(role), password, unit_id)
    except CustosError as exc:
        _fail(exc)
        return
    click.echo(f"created user {created.username} ({created.role}) with id {created.id}")


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Repeat password: "):
            click.echo("error: the passwords differ", err=True)
            sys.exit(2)
        return first
    return sys.stdin.readline().rstrip("\r\n")


@main.group()
def rules() -> None:
    """The rule packs."""


@rules.command("list")
def rules_list() -> None:
    """List the rule packs and what they cover."""
    from custos.adapters.rulepack_loader import load_rulebook

    for pack in load_rulebook().packs:
        parent = f" (inherits {pack.parent})" if pack.parent else ""
        click.echo(f"{pack.id:<16} {pack.effective_date}  {pack.name_zh}{parent}")


@main.group()
def compliance() -> None:
    """Compliance reports."""


@compliance.command("report")
@click.option("--unit", "unit_id", type=int, default=None, help="Only this unit")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
@data_dir_option
def compliance_report(unit_id: int | None, as_json: bool, data_dir: Path | None) -> None:
    """Findings per unit and site, with severity, citation and fine range."""
    from custos.bootstrap import bootstrap

    container = bootstrap(_settings(data_dir))
    try:
        reports = (
            [container.compliance.unit_report(SYSTEM, unit_id)]
            if unit_id is not None
            else container.compliance.all_units(SYSTEM)
        )
    except CustosError as exc:
        _fail(exc)
        return
    if as_json:
        click.echo(
            json.dumps([r.as_dict() for r in reports], ensure_ascii=False, indent=2, default=str)
        )
        return
    for report in reports:
        click.echo(report.as_text())


def _add_recording_commands() -> None:
    from custos.cli_recording import check, demo, recorder

    for command in (recorder, check, demo):
        main.add_command(command)


_add_recording_commands()


def _add_audit_commands() -> None:
    from custos.cli_audit import audit

    main.add_command(audit)


_add_audit_commands()


def _add_retention_commands() -> None:
    from custos.cli_retention import footage, retention

    main.add_command(retention)
    main.add_command(footage)


_add_retention_commands()


def _add_objectstore_commands() -> None:
    from custos.cli_objectstore import objectstore

    main.add_command(objectstore)


_add_objectstore_commands()
