"""The ``custos`` command: the root group, and every group and command of this package added to it.

Each module holds one group (or one family of top-level commands) and imports none of the others.
"""

from __future__ import annotations

import click

from custos.entrypoints.cli import (
    audit,
    compliance,
    db,
    footage,
    objectstore,
    recording,
    retention,
    rules,
    serve,
    users,
)


@click.group()
@click.version_option(package_name="custos")
def main() -> None:
    """Custos — public-security video image information system (公共安全视频图像信息系统)."""


for command in (
    serve.serve,
    serve.demo,
    recording.recorder,
    recording.check,
    db.db,
    users.user,
    rules.rules,
    compliance.compliance,
    audit.audit,
    retention.retention,
    footage.footage,
    objectstore.objectstore,
):
    main.add_command(command)
