"""``custos serve`` and ``custos demo``: the server, on real cameras or on simulated ones."""

from __future__ import annotations

import subprocess
from pathlib import Path

import click

from custos.entrypoints.cli.options import build_settings, data_dir_option, log_to_stderr


@click.command()
@data_dir_option
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1)")
@click.option("--port", type=int, default=None, help="Port (default 8080)")
@click.option("--no-recorder", is_flag=True, help="Serve the API only; run `custos recorder` apart")
def serve(data_dir: Path | None, host: str | None, port: int | None, no_recorder: bool) -> None:
    """Migrate the database, then serve the API, with the recorder in a child process."""
    from custos.entrypoints.server import run_server

    run_server(build_settings(data_dir, host=host, port=port), with_recorder=not no_recorder)


@click.command()
@data_dir_option
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
    from custos.demo.cameras import register_demo_cameras
    from custos.domain.calendar import shanghai_date
    from custos.entrypoints.server import run_server

    s = build_settings(data_dir, host=host, port=port, segment_seconds=segment_seconds)
    log_to_stderr(s.log_level)
    upgrade(s.resolved_database_url())
    clip = make_clip(s.data_dir / "demo" / "clip.h264")
    mounts = [f"cam{n}" for n in range(1, count + 1)]
    server = subprocess.Popen(server_command(clip, rtsp_port, mounts), stdout=subprocess.PIPE)  # noqa: S603
    assert server.stdout is not None
    if server.stdout.readline().strip() != b"ready":
        raise click.ClickException("the simulated cameras did not start (is gstreamer installed?)")
    container = bootstrap(s)
    urls = [f"rtsp://127.0.0.1:{rtsp_port}/{m}" for m in mounts]
    ids = register_demo_cameras(container.registry, urls, shanghai_date(container.clock.now()))
    container.close()
    click.echo(f"{count} simulated cameras at rtsp://127.0.0.1:{rtsp_port}/cam1… (ids {ids})")
    try:
        run_server(s)
    finally:
        server.terminate()
        server.wait(10)
