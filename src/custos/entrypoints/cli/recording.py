"""``custos recorder`` and ``custos check``: recording, and the index against the files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from custos.entrypoints.cli.options import (
    build_settings,
    data_dir_option,
    log_to_stderr,
    require_database,
)


@click.command()
@data_dir_option
@click.option("--segment-seconds", type=click.IntRange(10, 300), default=None)
def recorder(data_dir: Path | None, segment_seconds: int | None) -> None:
    """Record every camera in service (runs until SIGTERM)."""
    from custos.bootstrap import bootstrap, migrate
    from custos.recorder.main import run_recorder

    settings = build_settings(data_dir, segment_seconds=segment_seconds)
    log_to_stderr(settings.log_level)
    migrate(settings)
    container = bootstrap(settings)
    try:
        run_recorder(container)
    finally:
        container.close()


@click.command()
@data_dir_option
@click.option("--hash", "rehash", is_flag=True, help="Re-hash every file (slow)")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def check(data_dir: Path | None, rehash: bool, as_json: bool) -> None:
    """Compare the segment index with the files on disk (and the object store, when one is
    configured), and decode the last fragment of every segment not checked before; exit 1 if
    they disagree or a tail does not decode."""
    from custos.bootstrap import bootstrap, segment_files
    from custos.recorder.reconcile import check as run_check

    settings = build_settings(data_dir)
    require_database(settings)
    container = bootstrap(settings)
    report = run_check(
        container.recording,
        segment_files(settings),
        rehash,
        container.offload,
        decode_tails=True,
    )
    container.close()
    if as_json:
        click.echo(json.dumps(report.__dict__ | {"clean": report.clean}, indent=2))
    else:
        click.echo(f"{report.rows} rows, {report.files} files")
        for label, paths in (
            ("missing file", report.missing_files),
            ("size differs", report.size_mismatch),
            ("hash differs", report.hash_mismatch),
            ("file without row (in flight, or to be adopted at start-up)", report.unindexed_files),
            ("missing object", report.missing_objects),
            ("object size differs", report.object_size_mismatch),
            ("object hash metadata differs", report.object_hash_mismatch),
            ("object bytes differ from the index hash", report.object_content_mismatch),
            ("object without row", report.unindexed_objects),
        ):
            for p in paths:
                click.echo(f"  {label}: {p}")
        for p, wrong in report.bad_tails.items():
            click.echo(f"  last fragment does not decode: {p}: {wrong}")
        click.echo(f"{report.tails_checked} segment tail(s) decoded (each once, until clean)")
        if report.objects_checked:
            click.echo(f"{report.objects_pending} segment(s) not yet in the object store")
        click.echo("clean" if report.clean else "NOT clean")
    sys.exit(0 if report.clean else 1)
