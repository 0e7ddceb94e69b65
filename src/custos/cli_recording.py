"""``custos recorder``, ``custos check`` and ``custos demo``."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import click

from custos.config import Settings


def _settings(data_dir: Path | None, **extra: object) -> Settings:
    values = {k: v for k, v in extra.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**values)  # type: ignore[arg-type]


def _logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


_data_dir = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data directory (default: $CUSTOS_DATA_DIR or ./data)",
)


@click.command()
@_data_dir
@click.option("--segment-seconds", type=click.IntRange(10, 300), default=None)
def recorder(data_dir: Path | None, segment_seconds: int | None) -> None:
    """Record every camera in service (runs until SIGTERM)."""
    from custos.adapters.db.migrate import upgrade
    from custos.bootstrap import bootstrap
    from custos.recorder.main import run_recorder

    settings = _settings(data_dir, segment_seconds=segment_seconds)
    _logging(settings.log_level)
    upgrade(settings.resolved_database_url())
    container = bootstrap(settings)
    try:
        run_recorder(container)
    finally:
        container.close()


@click.command()
@_data_dir
@click.option("--hash", "rehash", is_flag=True, help="Re-hash every file (slow)")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def check(data_dir: Path | None, rehash: bool, as_json: bool) -> None:
    """Compare the segment index with the files on disk (and the object store, when one is
    configured); exit 1 if they disagree."""
    from custos.adapters.storage.segment_files import SegmentStore
    from custos.bootstrap import bootstrap
    from custos.recorder.reconcile import check as run_check

    settings = _settings(data_dir)
    container = bootstrap(settings)
    report = run_check(
        container.recording,
        SegmentStore(settings.resolved_media_dir(), settings.media_volumes),
        rehash,
        container.offload,
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
        if report.objects_checked:
            click.echo(f"{report.objects_pending} segment(s) not yet in the object store")
        click.echo("clean" if report.clean else "NOT clean")
    sys.exit(0 if report.clean else 1)


@click.command()
@_data_dir
@click.option("--cameras", "count", type=click.IntRange(1, 200), default=4)
@click.option("--rtsp-port", type=int, default=8554, help="Port of the simulated cameras")
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@click.option("--segment-seconds", type=click.IntRange(10, 300), default=None)
def demo(
    data_dir: Path | None,
    count: int,
    rtsp_port: int,
    host: str | None,
    port: int | None,
    segment_seconds: int | None,
) -> None:
    """Start N simulated RTSP cameras, register them, then serve API and recorder."""
    from custos.adapters.db.migrate import upgrade
    from custos.adapters.media.simcam.clip import make_clip, server_command
    from custos.bootstrap import bootstrap
    from custos.cli import serve_with_recorder
    from custos.demo.cameras import register_demo_cameras
    from custos.domain.calendar import shanghai_date

    settings = _settings(data_dir, host=host, port=port, segment_seconds=segment_seconds)
    _logging(settings.log_level)
    upgrade(settings.resolved_database_url())
    clip = make_clip(settings.data_dir / "demo" / "clip.h264")
    mounts = [f"cam{n}" for n in range(1, count + 1)]
    server = subprocess.Popen(server_command(clip, rtsp_port, mounts), stdout=subprocess.PIPE)  # noqa: S603
    assert server.stdout is not None
    if server.stdout.readline().strip() != b"ready":
        raise click.ClickException("the simulated cameras did not start (is gstreamer installed?)")
    container = bootstrap(settings)
    urls = [f"rtsp://127.0.0.1:{rtsp_port}/{m}" for m in mounts]
    ids = register_demo_cameras(container.registry, urls, shanghai_date(container.clock.now()))
    container.close()
    click.echo(f"{count} simulated cameras at rtsp://127.0.0.1:{rtsp_port}/cam1… (ids {ids})")
    try:
        serve_with_recorder(settings)
    finally:
        server.terminate()
        server.wait(10)
