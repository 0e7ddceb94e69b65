"""``custos objectstore serve`` (a one-machine SeaweedFS, one process or replicated across
several volume servers) and ``custos objectstore offload``."""

from __future__ import annotations

import os
import secrets
import signal
import sys
from pathlib import Path
from types import FrameType
from urllib.parse import urlparse

import click

from custos.config import Settings
from custos.entrypoints.cli.options import (
    CannotRun,
    build_settings,
    data_dir_option,
    require_database,
)

CREDENTIALS_FILE = "credentials.env"


@click.group()
def objectstore() -> None:
    """The S3 object store for sealed segments (SeaweedFS, or any S3)."""


@objectstore.command("serve")
@data_dir_option
@click.option(
    "--dir",
    "store_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="SeaweedFS's own data (default: DATA/seaweedfs)",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535 - 10003),
    default=None,
    help="S3 port on 127.0.0.1 (default: that of $CUSTOS_S3_ENDPOINT, else 8333); the master,"
    " volume server 1 and filer take the next three, volume server k>=2 +2+k, gRPC +10000",
)
@click.option(
    "--volume-size-mb",
    type=click.IntRange(16, 30000),
    default=1024,
    help="Size of one SeaweedFS volume; their number follows the free space",
)
@click.option(
    "--volumes",
    type=click.IntRange(1, 8),
    default=1,
    show_default=True,
    help="Volume servers; more than one runs master, volume servers and filer as processes",
)
@click.option(
    "--replication",
    default=None,
    help="SeaweedFS replication XYZ (copies in other data centres, racks, servers);"
    " default 000 with one volume server, 001 with more",
)
@click.option(
    "--restart-after",
    type=click.IntRange(0, 3600),
    default=10,
    show_default=True,
    help="Seconds before a volume server that exited is started again (0: never)",
)
def serve(
    data_dir: Path | None,
    store_dir: Path | None,
    port: int | None,
    volume_size_mb: int,
    volumes: int,
    replication: str | None,
    restart_after: int,
) -> None:
    """Run SeaweedFS on loopback with an S3 gateway and the bucket (Object Lock on): one
    process (weed server), or with --volumes N a master, N volume servers and a filer, every
    object on as many servers as --replication requires (docs/design/storage.md).

    The key pair is $CUSTOS_S3_ACCESS_KEY / $CUSTOS_S3_SECRET_KEY; without them one is made once
    and kept in DIR/credentials.env (mode 0600) with the endpoint, bucket and master, to be
    sourced (`set -a; . DIR/credentials.env; set +a`) by every custos process.
    """
    from custos.bootstrap import object_store_server, open_object_store_bucket
    from custos.services.object_replication import copies_required

    settings = build_settings(data_dir)
    store_dir = store_dir if store_dir is not None else settings.data_dir / "seaweedfs"
    if port is None:
        port = (urlparse(settings.s3_endpoint).port if settings.s3_endpoint else None) or 8333
    replication = replication or ("000" if volumes == 1 else "001")
    try:
        need = copies_required(replication)
    except ValueError as exc:
        raise click.ClickException(f"--replication: {exc}") from None
    if need > volumes:
        raise click.ClickException(
            f"--replication {replication} needs {need} volume servers: give --volumes {need} or"
            " more"
        )
    try:
        server = object_store_server(
            store_dir, port, volume_size_mb, volumes, replication, restart_after, click.echo
        )
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    endpoint = server.endpoint
    access, secret, made = _credentials(settings, store_dir, endpoint, server.master_url)
    # From the main thread, which lives as long as this command: weed dies with us, SIGKILL too.
    server.start(access, secret)

    def _terminate(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _terminate)
    try:
        try:
            server.wait_ready()
        except (RuntimeError, TimeoutError) as exc:
            msg = f"SeaweedFS did not start: {exc} (logs in {store_dir})"
            raise click.ClickException(msg) from None
        locking = open_object_store_bucket(settings, endpoint, access, secret)
        lock = "on" if locking else "off (application-level immutability only)"
        click.echo(f"SeaweedFS S3 at {endpoint}, bucket {settings.s3_bucket}, Object Lock {lock}")
        click.echo(
            f"master {server.master_url}, {volumes} volume server(s), replication {replication}"
        )
        click.echo(f"log: {store_dir / ('weed.log' if volumes == 1 else '*.log')}")
        if made:
            click.echo(f"credentials: {store_dir / CREDENTIALS_FILE} (mode 0600; source it)")
        click.echo("ready", nl=True)
        sys.stdout.flush()
        raise click.ClickException(f"weed exited with {server.wait()}")
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _credentials(
    settings: Settings, store_dir: Path, endpoint: str, master_url: str
) -> tuple[str, str, bool]:
    """The configured key pair, else the one kept in ``credentials.env``, else a new one."""
    if settings.s3_access_key and settings.s3_secret_key:
        return settings.s3_access_key, settings.s3_secret_key.get_secret_value(), False
    path = store_dir / CREDENTIALS_FILE
    if path.exists():
        values = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
        return values["CUSTOS_S3_ACCESS_KEY"], values["CUSTOS_S3_SECRET_KEY"], True
    access, secret = f"custos-{secrets.token_hex(6)}", secrets.token_urlsafe(30)
    store_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(
            f"CUSTOS_S3_ENDPOINT={endpoint}\nCUSTOS_S3_BUCKET={settings.s3_bucket}\n"
            f"CUSTOS_S3_ACCESS_KEY={access}\nCUSTOS_S3_SECRET_KEY={secret}\n"
            f"CUSTOS_S3_MASTER_URL={master_url}\n"
        )
    return access, secret, True


@objectstore.command("offload")
@data_dir_option
@click.option(
    "--node",
    envvar="CUSTOS_NODE",
    default=None,
    help="A recorder node's own segments (run it on that node: its files are on its disk)",
)
def offload(data_dir: Path | None, node: str | None) -> None:
    """Upload every sealed segment not yet in the object store (what the server, or a recorder
    node for its own, does by itself every $CUSTOS_S3_OFFLOAD_EVERY_S seconds); exit 1 if any
    was refused or failed."""
    from custos.bootstrap import bootstrap

    settings = build_settings(data_dir)
    if not settings.object_store_enabled():
        raise CannotRun("no object store: set CUSTOS_S3_ENDPOINT (and the keys)")
    require_database(settings)
    container = bootstrap(settings)
    try:
        if container.offload is None:
            raise CannotRun("no object store: set CUSTOS_S3_ENDPOINT (and the keys)")
        uploaded = refused = failed = 0
        while True:
            report = container.offload.run_once(100, node=node)
            uploaded += len(report.uploaded)
            refused += len(report.refused)
            failed += len(report.failed)
            for p in report.refused:
                click.echo(f"  refused (another object holds the key): {p}")
            if len(report.uploaded) < 100:
                break
    finally:
        container.close()
    click.echo(f"{uploaded} uploaded, {refused} refused, {failed} failed")
    sys.exit(1 if refused or failed else 0)
