"""A running Custos server: migrate, then the API and web UI (uvicorn), the housekeeper's timed
duties and, unless told otherwise, the recorder in a child process."""

from __future__ import annotations

import click

from custos.config import Settings
from custos.domain.access import Role
from custos.entrypoints.console import command_line


def run_server(settings: Settings, with_recorder: bool = True) -> None:
    """Serve until SIGTERM or Ctrl-C; the housekeeper and the recorder stop with the server."""
    import uvicorn

    from custos.bootstrap import (
        bootstrap,
        gb_cascade_runner,
        gb_media_control,
        gb_sip_server,
        migrate,
    )
    from custos.entrypoints.api.app import create_app
    from custos.entrypoints.lifetime import exit_on_sigterm
    from custos.entrypoints.workers.housekeeper import Housekeeper
    from custos.recorder.child import RecorderChild
    from custos.services.stream_credentials import seal_clear_stream_credentials

    exit_on_sigterm()
    migrate(settings)
    container = bootstrap(settings)
    sealed = seal_clear_stream_credentials(container.uow, container.clock)
    if sealed:
        click.echo(
            f"Stream passwords of cameras {sealed} were stored in clear by an earlier version; "
            "they are sealed now, but older operation-log entries keep them: change them on "
            "those cameras."
        )
    if not any(u.role is Role.ADMIN for u in container.auth.list_users()):
        create = command_line(
            "user", "create", "admin", "--role", "admin", "--data-dir", settings.data_dir
        )
        click.echo(
            "No administrator yet. Create the first one with (the password is asked for):\n"
            f"  {create}"
        )
    url = f"http://{settings.host}:{settings.port}"
    click.echo(f"Custos is serving at {url}/  (web UI {url}/ui/, API {url}/api/v1/docs)")
    child = RecorderChild(settings.data_dir, settings.segment_seconds) if with_recorder else None
    if child is not None:
        child.start()
    housekeeper = Housekeeper(container)
    housekeeper.start()
    cascade = gb_cascade_runner(settings, container) if settings.gb_enabled else None
    if cascade is not None:
        cascade.start()  # registers with each enabled upper platform (issue 12 §2)
    sip = gb_sip_server(settings, container) if settings.gb_enabled else None
    media = gb_media_control(settings, sip) if sip is not None else None
    if sip is not None and media is not None:
        sip.start()
        media.start()  # the recorder INVITEs GB/T 28181 channels through it
        click.echo(
            f"GB/T 28181 SIP server {settings.gb_platform_id} on "
            f"{settings.gb_sip_host}:{sip.port} ({settings.gb_sip_transports})"
        )
    try:
        # log_config=None: uvicorn's loggers go through the root handler the command set up,
        # whose filter masks stream credentials (entrypoints/cli/options.CredentialRedaction)
        uvicorn.run(
            create_app(container),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            log_config=None,
        )
    finally:
        if media is not None:
            media.stop()
        if sip is not None:
            sip.stop()
        if cascade is not None:
            cascade.stop()
        housekeeper.stop()
        if child is not None:
            child.stop()
        container.close()
