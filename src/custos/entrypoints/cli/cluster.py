"""``custos cluster status``: the recorder nodes, their leases and offload lag, the cameras no live
node records, refused segments and who runs the timed duties (docs/design/cluster.md).

Exit 0 when all is well, 1 when a camera in service has no live holder or a node that is not
live still holds leases, 2 when the status cannot be read (one line, as every command)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from custos.domain.users import SYSTEM
from custos.entrypoints.cli.options import data_dir_option, open_custos
from custos.services.cluster_status import (
    ClusterStatus,
    NodeStatus,
    OffloadLag,
    ProblemKind,
    SingleMachine,
)

SHOWN_IDS = 20  # camera ids listed on one line before "… and N more"


@click.group()
def cluster() -> None:
    """Several machines: recorder nodes, camera leases, timed duties."""


@cluster.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
@click.option(
    "--refused",
    "refused_shown",
    type=click.IntRange(0, 100),
    default=5,
    show_default=True,
    help="How many of the latest refused segments to list",
)
@data_dir_option
def status(as_json: bool, refused_shown: int, data_dir: Path | None) -> None:
    """Nodes, leases, unrecorded cameras, offload lag, refused segments, timed duties."""
    container = open_custos(data_dir)
    try:
        st = container.cluster_status.status(SYSTEM, refused_shown)
    finally:
        container.close()
    if as_json:
        click.echo(json.dumps(st.as_dict(), ensure_ascii=False, indent=2))
    else:
        for line in _text(st):
            click.echo(line)
    if not st.healthy:
        sys.exit(1)


def _ids(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:SHOWN_IDS])
    more = len(ids) - SHOWN_IDS
    return f"{shown} … and {more} more" if more > 0 else shown or "-"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [head, *rows]]  # fmt: skip


def _node_row(n: NodeStatus, lag: OffloadLag | None) -> list[str]:
    return [
        n.name, n.address, n.state, "yes" if n.live else "NO", _age(n.heartbeat_age_s),
        str(n.capacity), str(len(n.cameras)), str(len(n.handing_over)), str(len(n.expired)),
        "-" if lag is None else str(lag.pending), _age(lag.oldest_age_s if lag else None),
        n.version,
    ]  # fmt: skip


def _text(st: ClusterStatus) -> list[str]:
    out: list[str] = []
    lags = {lag.node: lag for lag in st.offload or []}
    if st.single_machine is not None:
        why = (
            "SQLite is one machine's database"
            if st.single_machine is SingleMachine.SQLITE
            else "no recorder node has joined this PostgreSQL"
        )
        out.append(
            f"single machine: one recorder records all {st.cameras_in_service} cameras in"
            f" service; no recorder nodes, no leases ({why})"
        )
    else:
        live = sum(1 for n in st.nodes if n.live)
        out.append(
            f"cluster: {len(st.nodes)} recorder nodes ({live} live),"
            f" {st.cameras_in_service} cameras in service, at {st.at.isoformat()}"
        )
        head = ["NODE", "ADDRESS", "STATE", "LIVE", "HEARTBEAT", "CAPACITY", "CAMERAS",
                "HANDING OVER", "EXPIRED", "OFFLOAD PENDING", "OLDEST", "VERSION"]  # fmt: skip
        out += _table(head, [_node_row(n, lags.get(n.name)) for n in st.nodes])
        out.append("")
        out.append("leases:")
        out += [f"  {n.name}: {_ids(n.cameras)}" for n in st.nodes]
        unrec = [c.id for c in st.unrecorded]
        out.append(f"unrecorded cameras ({len(unrec)}): {_ids(unrec)}")
        if st.unleased:
            out.append(f"  of which never leased: {st.unleased}")
    if st.offload is None:
        out.append("offload: no object store configured")
    elif None in lags:
        lag = lags[None]
        out.append(
            f"offload of the one-machine recorder: {lag.pending} pending,"
            f" oldest {_age(lag.oldest_age_s)}"
        )
    out.append(f"refused segments: {st.refused_count}")
    for r in st.refused:
        out.append(
            f"  camera {r['camera_id']} from node {r['node']}, token {r['fencing_token']} <"
            f" {r['current_token']}, {r['start_at'].isoformat()}, refused"
            f" {r['refused_at'].isoformat()}, kept at {r['kept_at']}"
        )
    if st.duties_local:
        out.append("timed duties: all run by this machine's server (no duty leases)")
    else:
        out.append("timed duties:")
        rows = [
            [d.duty, d.holder or "(released)", "yes" if d.live else "NO", str(d.token),
             _age(d.expires_in_s) if d.expires_in_s >= 0 else f"expired {_age(-d.expires_in_s)} ago"]
            for d in st.duties
        ]  # fmt: skip
        out += ["  " + line for line in _table(["DUTY", "HOLDER", "LIVE", "TOKEN", "EXPIRES IN"], rows)]  # fmt: skip
    unrecorded = [p.subject for p in st.problems if p.kind is ProblemKind.UNRECORDED]
    if unrecorded:
        out.append(
            f"problem: {len(unrecorded)} cameras in service are recorded by no live node:"
            f" {_ids([int(i) for i in unrecorded])}"
        )
    for n in st.nodes:
        if any(p.kind is ProblemKind.DEAD_HOLDER and p.subject == n.name for p in st.problems):
            out.append(
                f"problem: node {n.name} is not live and still holds {len(n.cameras)} leases"
            )
    return out
