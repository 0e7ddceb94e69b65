"""What every ``custos`` command shares: the data-directory option, the settings built from it
(by :func:`custos.bootstrap.settings_from`, once per command) and the one-line failure."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from custos.bootstrap import settings_from
from custos.config import Settings
from custos.domain.errors import CustosError

F = TypeVar("F", bound=Callable[..., Any])


def data_dir_option(func: F) -> F:
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Data directory (default: $CUSTOS_DATA_DIR or ./data)",
    )(func)


def build_settings(data_dir: Path | None, **overrides: object) -> Settings:
    """The command's settings: the environment, overridden by the options given."""
    return settings_from(data_dir, **overrides)


def fail(exc: CustosError) -> NoReturn:
    click.echo(f"error: {exc}", err=True)
    sys.exit(2)


def log_to_stderr(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
