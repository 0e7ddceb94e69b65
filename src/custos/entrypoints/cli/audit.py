"""``custos audit``: verify, export and checkpoint the operation log (运行记录).

Exit status of ``verify``: 0 when the log is sound, 1 when it is not (the first bad entry is
named), 2 when it could not be checked at all.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

import click

from custos.domain.audit_verify import VerificationReport
from custos.domain.audit_witness import Refused, Witnessed, WitnessReport
from custos.domain.users import SYSTEM
from custos.entrypoints.cli.options import (
    CannotRun,
    build_settings,
    data_dir_option,
    require_database,
)

if TYPE_CHECKING:
    from custos.bootstrap import Container
    from custos.services.audit_witness import WitnessSource

    class _TimeStampSource(WitnessSource, Protocol):
        def note(self) -> str | None: ...


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
@click.option(
    "--witness",
    "witness_places",
    multiple=True,
    metavar="PATH|URL",
    help="A witness file of checkpoints, a directory of them (*.jsonl), a time-stamp store "
    "(a directory of *.tsr tokens, checked with --tsa-cert), or a bureau's Custos (http:// or "
    "https:// base URL); repeatable: the log must extend every checkpoint witnessed there",
)
@click.option(
    "--tsa-cert",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The time-stamp authority's CA certificate(s), PEM, to check the tokens of a "
    "time-stamp store by (default: CUSTOS_AUDIT_TSA_CERT)",
)
@click.option(
    "--tsa-tolerance",
    type=click.FloatRange(min=0, max=86400),
    default=300.0,
    show_default=True,
    help="Seconds a token's genTime may lie before its checkpoint's own time (clock skew)",
)
@click.option(
    "--witness-objectstore",
    is_flag=True,
    help="Also check the checkpoints witnessed in the configured object store",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def verify(
    data_dir: Path | None,
    export_file: Path | None,
    public_key: str | None,
    witness_places: tuple[str, ...],
    witness_objectstore: bool,
    tsa_cert: Path | None,
    tsa_tolerance: float,
    as_json: bool,
) -> None:
    """Recompute every leaf, the chain, the tree at each checkpoint and each signature; with
    --witness, also prove that the log extends every witnessed checkpoint (no rollback)."""
    from custos.bootstrap import pinned_keys, trusted_keys

    try:
        pinned = pinned_keys(public_key) if public_key else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--public-key") from exc
    # Witnesses first: they only ever get committed checkpoints, so a log read after them
    # holds everything they hold unless it was rolled back.
    notes: list[str] = []
    witnessed = _witnessed(
        data_dir,
        witness_places,
        witness_objectstore,
        lambda: _log_key_id(data_dir, export_file, public_key),
        _TimeStampCheck(tsa_cert, timedelta(seconds=tsa_tolerance), notes),
    )
    witness: WitnessReport | None = None
    if export_file is not None:
        from custos.services.audit_witness import verify_export_witnessed

        with export_file.open("rb") as f:
            if witnessed is None:
                from custos.services.audit_log import verify_export

                report, header = verify_export(f, trusted_keys, pinned)
            else:
                report, header, witness = verify_export_witnessed(
                    f, trusted_keys, *witnessed, pinned=pinned
                )
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
            if witnessed is None:
                report = container.audit.verify(SYSTEM, pinned)
            else:
                report, witness = container.audit.verify_witnessed(
                    SYSTEM, *witnessed, trusted=pinned
                )
        finally:
            container.close()
    _print(report, witness, notes, as_json)
    sys.exit(0 if report.ok and (witness is None or witness.ok) else 1)


@dataclass(frozen=True)
class _TimeStampCheck:
    """How the tokens of a time-stamp store are checked, and where what they prove is noted."""

    cert: Path | None
    tolerance: timedelta
    notes: list[str]


def _witnessed(
    data_dir: Path | None,
    places: tuple[str, ...],
    objectstore: bool,
    key_id: Callable[[], str],
    stamps: _TimeStampCheck,
) -> tuple[list[Witnessed], list[Refused]] | None:
    """What the witnesses named on the command line hold (None: none named); CannotRun, exit 2,
    when one cannot be read at all. A bureau is asked for the checkpoints of ``key_id()``."""
    if not places and not objectstore:
        return None
    from custos.bootstrap import (
        bureau_witness,
        checkpoint_objects,
        holds_time_stamps,
        witness_files,
    )
    from custos.services.audit_witness import WitnessUnavailableError, read_all

    urls = [p for p in places if p.lower().startswith(("http://", "https://"))]
    stores = [Path(p) for p in places if p not in urls and holds_time_stamps(Path(p))]
    paths = [Path(p) for p in places if p not in urls and Path(p) not in stores]
    sources: list[WitnessSource] = []
    if paths:
        sources.append(witness_files(paths))
    tokens = _time_stamp_files(data_dir, stores, stamps) if stores else None
    if tokens is not None:
        sources.append(tokens)
    if urls:
        settings = build_settings(data_dir)
        kid = key_id()
        for url in urls:
            try:
                sources.append(bureau_witness(settings, url, kid))
            except ValueError as exc:
                raise CannotRun(f"--witness: {exc}") from exc
    if objectstore:
        try:
            sources.append(checkpoint_objects(build_settings(data_dir)))
        except ValueError as exc:
            raise CannotRun(f"--witness-objectstore: {exc}") from exc
    try:
        found = read_all(sources)
    except WitnessUnavailableError as exc:
        raise CannotRun(f"cannot read the witness: {exc}") from exc
    note = tokens.note() if tokens is not None else None
    if note is not None:
        stamps.notes.append(note)
    return found


def _time_stamp_files(
    data_dir: Path | None, stores: list[Path], stamps: _TimeStampCheck
) -> _TimeStampSource:
    """The time-stamp stores named, their tokens checked under --tsa-cert (else the configured
    CUSTOS_AUDIT_TSA_CERT); CannotRun, exit 2, when there is no usable certificate."""
    from custos.bootstrap import time_stamp_files

    cert = stamps.cert or build_settings(data_dir).audit_tsa_cert
    if cert is None:
        raise CannotRun(
            f"--witness {stores[0]} holds time-stamp tokens: give --tsa-cert (the TSA's CA "
            "certificate, PEM) or set CUSTOS_AUDIT_TSA_CERT to check them"
        )
    try:
        return time_stamp_files(stores, cert, stamps.tolerance)
    except ValueError as exc:
        raise CannotRun(f"--tsa-cert: {exc}") from exc


def _log_key_id(data_dir: Path | None, export_file: Path | None, public_key: str | None) -> str:
    """Whose checkpoints to ask a bureau for: the pinned key's, else the export's, else this
    installation's log key."""
    if public_key is not None:
        from custos.bootstrap import pinned_keys

        return pinned_keys(public_key).key_ids[0]  # already read once: it is readable
    if export_file is not None:
        from custos.domain.audit_export import ExportReader, MalformedExport

        try:
            with export_file.open("rb") as f:
                return ExportReader(f).header.key_id
        except MalformedExport as exc:
            raise CannotRun(
                f"--witness URL: the export names no key ({exc}); give --public-key"
            ) from exc
    from custos.bootstrap import log_key_id

    try:
        return log_key_id(build_settings(data_dir))
    except (OSError, ValueError) as exc:
        raise CannotRun(
            f"--witness URL: this installation's log key cannot be read ({exc}); give --public-key"
        ) from exc


def _print(
    report: VerificationReport, witness: WitnessReport | None, notes: list[str], as_json: bool
) -> None:
    if as_json:
        body = report.as_dict()
        body["notes"] = [*body["notes"], *notes]
        if witness is not None:
            body["witness"] = witness.as_dict()
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    click.echo(report.summary())
    for note in [*report.notes, *notes]:
        click.echo(f"note: {note}")
    if witness is not None:
        click.echo(witness.summary())


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
        _hand_over(container)
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
        _hand_over(container)
    finally:
        container.close()
    if cp is None:
        click.echo("the latest checkpoint already covers the whole log")
    else:
        click.echo(f"signed checkpoint {cp.tree_size}: root {cp.root.hex()} (key {cp.key_id})")


def _hand_over(container: Container) -> None:
    """No housekeeper runs in a command: hand the new checkpoints to the witnesses now."""
    if container.witnesses is None:
        return
    done = container.witnesses.hand_over()
    for name, why in done.failed.items():
        click.echo(f"warning: witness {name} failed (retried at the next pass): {why}", err=True)
