"""``custos audit``: verify, export and checkpoint the operation log (运行记录).

Exit status of ``verify``: 0 when the log is sound, 1 when it is not (the first bad entry is
named), 2 when it could not be checked at all.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import BinaryIO

import click

from custos.domain.audit_verify import VerificationReport
from custos.domain.users import SYSTEM
from custos.entrypoints.cli.options import build_settings, data_dir_option, require_database


@click.group()
def audit() -> None:
    """The tamper-evident operation log: verify, export, checkpoint."""


@audit.command("verify")
@data_dir_option
@click.option(
    "--from-export",
    "export_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Check an export file offline instead of the database",
)
@click.option(
    "--public-key",
    default=None,
    help="Trust only this Ed25519 key: 64 hex digits, or a file holding them (audit-ed25519.pub)",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def verify(
    data_dir: Path | None, export_file: Path | None, public_key: str | None, as_json: bool
) -> None:
    """Recompute every leaf, the chain, the tree at each checkpoint and each signature."""
    from custos.bootstrap import pinned_keys, trusted_keys

    try:
        pinned = pinned_keys(public_key) if public_key else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--public-key") from exc
    notes: list[str] = []
    if export_file is not None:
        from custos.services.audit_log import verify_export

        with export_file.open("rb") as f:
            report, header = verify_export(f, trusted_keys, pinned)
        if header is not None and pinned is None:
            notes.append(
                f"trusted the key the export names (key id {header.key_id}); "
                "pin the key you expect with --public-key"
            )
    else:
        from custos.bootstrap import bootstrap

        settings = build_settings(data_dir)
        require_database(settings)
        container = bootstrap(settings)
        try:
            report = container.audit.verify(SYSTEM, pinned)
        finally:
            container.close()
    _print(report, notes, as_json)
    sys.exit(0 if report.ok else 1)


def _print(report: VerificationReport, notes: list[str], as_json: bool) -> None:
    if as_json:
        body = report.as_dict()
        body["notes"] = [*body["notes"], *notes]
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    click.echo(report.summary())
    for note in [*report.notes, *notes]:
        click.echo(f"note: {note}")


@audit.command("export")
@data_dir_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write here (created with mode 0600; default: standard output)",
)
def export(data_dir: Path | None, out: Path | None) -> None:
    """Write a self-contained JSON-lines export that 'audit verify --from-export' checks."""
    from custos.bootstrap import bootstrap

    settings = build_settings(data_dir)
    require_database(settings)
    container = bootstrap(settings)
    try:
        if out is None:
            header = container.audit.export(SYSTEM, sys.stdout.buffer.write)
            sys.stdout.buffer.flush()
        else:
            with _new_file(out) as f:
                header = container.audit.export(SYSTEM, f.write)
                f.flush()
                os.fsync(f.fileno())
    finally:
        container.close()
    click.echo(
        f"exported {header.tree_size} entries; public key id {header.key_id}"
        + (f" to {out}" if out else ""),
        err=True,
    )


def _new_file(path: Path) -> BinaryIO:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(fd, "wb")


@audit.command("checkpoint")
@data_dir_option
def checkpoint(data_dir: Path | None) -> None:
    """Sign a checkpoint over the log as it stands now."""
    from custos.bootstrap import bootstrap

    settings = build_settings(data_dir)
    require_database(settings)
    container = bootstrap(settings)
    try:
        cp = container.audit.checkpoint_now(SYSTEM)
    finally:
        container.close()
    if cp is None:
        click.echo("the latest checkpoint already covers the whole log")
    else:
        click.echo(f"signed checkpoint {cp.tree_size}: root {cp.root.hex()} (key {cp.key_id})")
