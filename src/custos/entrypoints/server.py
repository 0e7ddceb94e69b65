"""A running Custos server: migrate, then the API and web UI (uvicorn), the housekeeper's timed
duties and, unless told otherwise, the recorder in a child process."""

from __future__ import annotations

import click

from custos.config import Settings


def run_server(settings: Settings, with_recorder: bool = True) -> None:
    import uvicorn

    from custos.adapters.db.migrate import upgrade
    from custos.api.app import create_app
    from custos.bootstrap import bootstrap
    from custos.entrypoints.workers.housekeeper import Housekeeper
    from custos.recorder.child import RecorderChild

    upgrade(settings.resolved_database_url())
    container = bootstrap(settings)
    if not container.auth.list_users():
        click.echo(
            "No users yet. Create the first administrator with:\n"
            f"  custos user create admin --role admin --data-dir {settings.data_dir}"
        )
    url = f"http://{settings.host}:{settings.port}"
    click.echo(f"Custos is serving at {url}/  (API {url}/api/v1/docs)")
    child = RecorderChild(settings.data_dir, settings.segment_seconds) if with_recorder else None
    if child is not None:
        child.start()
    housekeeper = Housekeeper(container)
    housekeeper.start()
    try:
        uvicorn.run(
            create_app(container), host=settings.host, port=settings.port, log_level="warning"
        )
    finally:
        housekeeper.stop()
        if child is not None:
            child.stop()
