"""What every ``custos`` command shares: the data-directory option, the settings built from it
(by :func:`custos.bootstrap.settings_from`, once per command), the check that the database is
there, and the one-line failure."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from pydantic import ValidationError

from custos.bootstrap import Container, bootstrap, schema_state, settings_from
from custos.config import Settings
from custos.domain.errors import CustosError
from custos.domain.stream_url import redact_credentials
from custos.entrypoints.console import command_line

F = TypeVar("F", bound=Callable[..., Any])

#: A database id, bounded like the API's (custos.entrypoints.api.bounds): a larger number is a
#: usage error naming the argument, never an overflow deep in the database driver.
RECORD_ID = click.IntRange(1, 2**31 - 1)
#: A TCP port.
PORT = click.IntRange(1, 65535)


class CannotRun(click.ClickException):
    """An expected condition that stops a command: one line on stderr, exit 2, no traceback."""

    exit_code = 2


def data_dir_option(func: F) -> F:
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Data directory (default: $CUSTOS_DATA_DIR or ./data)",
    )(func)


def build_settings(data_dir: Path | None, **overrides: object) -> Settings:
    """The command's settings: the environment, overridden by the options given."""
    try:
        return settings_from(data_dir, **overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise CannotRun(f"invalid settings (CUSTOS_* variables or options): {problems}") from exc


def require_database(settings: Settings) -> None:
    """Refuse, writing nothing, unless the database is there at the latest revision."""
    state = schema_state(settings)
    if state == "current":
        return
    where = (
        f"in {settings.data_dir.resolve()}"
        if settings.database_url is None
        else "at $CUSTOS_DATABASE_URL"
    )
    upgrade = command_line("db", "upgrade", "--data-dir", settings.data_dir)
    if state == "missing":
        raise CannotRun(f"no Custos database {where} yet; run: {upgrade}")
    raise CannotRun(f"the Custos database {where} needs upgrading; run: {upgrade}")


def open_custos(data_dir: Path | None) -> Container:
    """Custos wired for a command that needs the database: the settings, the check, the container."""
    settings = build_settings(data_dir)
    require_database(settings)
    return bootstrap(settings)


def fail(exc: CustosError) -> NoReturn:
    click.echo(f"error: {exc}", err=True)
    sys.exit(2)


def log_to_stderr(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(CredentialRedaction())


class CredentialRedaction(logging.Filter):
    """Masks any stream credential in a log line or its traceback, whoever wrote it (an
    engine's error can quote the URL it was given): the last line of defence, not the first."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact_credentials(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_credentials(record.exc_text)
        return True
