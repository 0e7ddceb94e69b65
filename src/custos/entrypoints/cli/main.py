"""The ``custos`` command: the root group, and every group and command of this package added to it.

Each module holds one group (or one family of top-level commands) and imports none of the others.
"""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy.exc import OperationalError

from custos.domain.errors import CustosError
from custos.entrypoints.cli import (
    audit,
    cluster,
    compliance,
    db,
    divisions,
    footage,
    keys,
    objectstore,
    onvif,
    recording,
    retention,
    rules,
    serve,
    users,
)
from custos.entrypoints.cli.options import CannotRun


class CustosGroup(click.Group):
    """The root group: an expected failure of any command is one line and exit 2, never a
    traceback (a refusal of the services, a database that cannot be reached, an OS error such as
    a port in use or a directory that cannot be written)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CustosError as exc:
            raise CannotRun(str(exc)) from exc
        except OperationalError as exc:
            raise CannotRun(f"the database cannot be used: {exc.orig}") from exc
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            raise CannotRun(f"{exc.strerror or exc}{where}") from exc


@click.group(cls=CustosGroup)
@click.version_option(package_name="custos")
def main() -> None:
    """Custos — public-security video image information system (公共安全视频图像信息系统)."""


for command in (
    serve.serve,
    serve.demo,
    recording.recorder,
    recording.check,
    db.db,
    divisions.divisions,
    users.user,
    rules.rules,
    compliance.compliance,
    audit.audit,
    retention.retention,
    footage.footage,
    keys.keys,
    objectstore.objectstore,
    onvif.onvif,
    cluster.cluster,
):
    main.add_command(command)
