"""``custos recorder`` and ``custos check``: recording, and the index against the files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from custos.domain.cluster import MAX_CAPACITY, check_node_name
from custos.entrypoints.cli.options import (
    build_settings,
    data_dir_option,
    log_to_stderr,
    require_database,
)


@click.command()
@data_dir_option
@click.option("--segment-seconds", type=click.IntRange(10, 300), default=None)
@click.option(
    "--node",
    envvar="CUSTOS_NODE",
    default=None,
    help="Run as this recorder node of a cluster (PostgreSQL): record only the cameras it leases",
)
@click.option(
    "--address",
    envvar="CUSTOS_NODE_ADDRESS",
    default="127.0.0.1:0",
    show_default=True,
    help="host:port where other machines reach this node",
)
@click.option(
    "--capacity",
    envvar="CUSTOS_NODE_CAPACITY",
    type=click.IntRange(1, MAX_CAPACITY),
    default=400,
    show_default=True,
    help="Cameras this node can record; cameras are spread in proportion",
)
def recorder(
    data_dir: Path | None,
    segment_seconds: int | None,
    node: str | None,
    address: str,
    capacity: int,
) -> None:
    """Record every camera in service (runs until SIGTERM); with --node, the cameras this
    node leases (docs/design/cluster.md)."""
    from custos import __version__
    from custos.bootstrap import bootstrap, migrate
    from custos.domain.clock import SystemClock
    from custos.recorder.main import hold_node_directory, run_recorder
    from custos.services.recorder_leases import NodeIdentity

    identity = None
    if node is not None:
        try:
            identity = NodeIdentity(check_node_name(node), address, capacity, __version__)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--node") from None
    more: dict[str, object] = {"database_idle_transaction_s": 20} if identity else {}
    settings = build_settings(data_dir, segment_seconds=segment_seconds, **more)
    log_to_stderr(settings.log_level)
    # a node takes its data directory, and re-attaches its shards, before the database's start
    held = hold_node_directory(settings, identity, SystemClock()) if identity else None
    migrate(settings)
    container = bootstrap(settings)
    try:
        run_recorder(container, node=identity, held=held)
    finally:
        container.close()


@click.command()
@data_dir_option
@click.option("--hash", "rehash", is_flag=True, help="Re-hash every file (slow)")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
@click.option(
    "--node",
    envvar="CUSTOS_NODE",
    default=None,
    help="A recorder node's own segments (its files are on its machine)",
)
def check(data_dir: Path | None, rehash: bool, as_json: bool, node: str | None) -> None:
    """Compare the segment index with the files on disk (and the object store, when one is
    configured), and decode the last fragment of every segment not checked before; exit 1 if
    they disagree or a tail does not decode."""
    from custos.bootstrap import bootstrap, object_store_replication, segment_files
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
        node=node,
    )
    container.close()
    replicas = object_store_replication(settings)  # None: no object store configured
    clean = report.clean and (replicas is None or replicas.clean)
    if as_json:
        more = {"clean": clean, "replication": replicas.as_dict() if replicas else None}
        click.echo(json.dumps(report.__dict__ | more, indent=2))
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
            ("object listed but its bytes unreadable now", report.unreadable_objects),
            ("object without row", report.unindexed_objects),
        ):
            for p in paths:
                click.echo(f"  {label}: {p}")
        for p, wrong in report.bad_tails.items():
            click.echo(f"  last fragment does not decode: {p}: {wrong}")
        click.echo(f"{report.tails_checked} segment tail(s) decoded (each once, until clean)")
        if report.objects_checked:
            click.echo(f"{report.objects_pending} segment(s) not yet in the object store")
        for line in [*replicas.lines(), replicas.summary()] if replicas else []:
            click.echo(line)
        click.echo("clean" if clean else "NOT clean")
    sys.exit(0 if clean else 1)
