"""``custos serve`` and ``custos demo``: the server, on real cameras or on simulated ones."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import click

from custos.entrypoints.cli.options import (
    PORT,
    CannotRun,
    build_settings,
    data_dir_option,
    log_to_stderr,
)


@click.command()
@data_dir_option
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1)")
@click.option("--port", type=PORT, default=None, help="Port (default 8080)")
@click.option("--no-recorder", is_flag=True, help="Serve the API only; run `custos recorder` apart")
def serve(data_dir: Path | None, host: str | None, port: int | None, no_recorder: bool) -> None:
    """Migrate the database, then serve the API, with the recorder in a child process."""
    from custos.entrypoints.server import run_server

    settings = build_settings(data_dir, host=host, port=port)
    log_to_stderr(settings.log_level)
    run_server(settings, with_recorder=not no_recorder)


@click.command()
@data_dir_option
@click.option("--cameras", "count", type=click.IntRange(1, 200), default=4)
@click.option("--rtsp-port", type=PORT, default=8554, help="Port of the simulated cameras")
@click.option("--host", default=None)
@click.option("--port", type=PORT, default=None)
@click.option("--segment-seconds", type=click.IntRange(10, 300), default=None)
def demo(
    data_dir: Path | None,
    count: int,
    rtsp_port: int,
    host: str | None,
    port: int | None,
    segment_seconds: int | None,
) -> None:
    """Start N simulated RTSP cameras, register them, then serve API and recorder; print how to
    sign in as the demo unit's operator (a new random password at every start)."""
    from custos.bootstrap import bootstrap, demo_camera_command, migrate
    from custos.domain.calendar import shanghai_date
    from custos.domain.users import SYSTEM
    from custos.entrypoints.demo.cameras import DEMO_CREDIT_CODE, register_demo_cameras
    from custos.entrypoints.demo.users import demo_operator
    from custos.entrypoints.lifetime import exit_on_sigterm
    from custos.entrypoints.server import run_server
    from custos.recorder.lifeline import dies_with_parent

    s = build_settings(data_dir, host=host, port=port, segment_seconds=segment_seconds)
    log_to_stderr(s.log_level)
    exit_on_sigterm()
    migrate(s)
    mounts = [f"cam{n}" for n in range(1, count + 1)]
    # Spawned from the main thread, which lives as long as the demo: SIGKILL of the demo kills
    # the simulator too (PR_SET_PDEATHSIG); SIGTERM unwinds to the ``finally`` below. Its own
    # session, like the recorder's: a Ctrl-C on the terminal reaches the demo, which stops the
    # recorder before the cameras it records.
    server = subprocess.Popen(  # noqa: S603 - our own argv
        demo_camera_command(s, rtsp_port, mounts),
        stdout=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=dies_with_parent(signal.SIGKILL),
    )
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != b"ready":
            raise CannotRun("the simulated cameras did not start (is gstreamer installed?)")
        container = bootstrap(s)
        urls = [f"rtsp://127.0.0.1:{rtsp_port}/{m}" for m in mounts]
        subs = [f"{url}-sub" for url in urls]
        today = shanghai_date(container.clock.now())
        ids = register_demo_cameras(container.registry, urls, today, subs)
        unit = next(
            u for u in container.registry.list_units(SYSTEM) if u.credit_code == DEMO_CREDIT_CODE
        )
        sign_in = demo_operator(container.auth, unit.id or 0)
        container.close()
        click.echo(f"{count} simulated cameras at rtsp://127.0.0.1:{rtsp_port}/cam1… (ids {ids})")
        if sign_in is not None:
            click.echo(
                f"Sign in at http://{s.host}:{s.port}/ui/ to watch the duty wall and play back:\n"
                f"  user {sign_in.username} (operator of the demo unit), "
                f"password {sign_in.password}\n"
                "  (a new password at every start of the demo; this one is not kept anywhere)"
            )
        run_server(s)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
