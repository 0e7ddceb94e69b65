"""``custos cluster status``: a table, or JSON with --json; exit 0 when every camera in service
has a live holder, 1 when one has none or a dead node still holds leases, and one line (no
traceback) on one machine or with no database."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.clock import SystemClock
from custos.entrypoints.cli.main import main
from tests.conftest import _truncate
from tests.integration.cluster_status_world import make_stale, register_cameras, shared


def _run(data: Path, database_url: str | None, *args: str) -> Result:
    env = {"CUSTOS_DATA_DIR": str(data), "CUSTOS_DATABASE_URL": database_url, "CUSTOS_S3_ENDPOINT": None}  # fmt: skip
    return CliRunner().invoke(main, ["cluster", "status", *args], env=env)


@pytest.fixture
def pg(pg_url: str, tmp_path: Path) -> Iterator[Container]:
    c = bootstrap(Settings(data_dir=tmp_path / "data", database_url=pg_url), clock=SystemClock())
    _truncate(c.engine)
    yield c
    c.close()


def test_two_live_nodes_exit_0_and_a_stale_one_exits_1(pg: Container, pg_url: str) -> None:
    w = shared(pg)
    data = pg.settings.data_dir
    ok = _run(data, pg_url)
    assert ok.exit_code == 0, ok.output
    assert "cluster: 2 recorder nodes (2 live), 5 cameras in service" in ok.output
    rows = {line.split()[0]: line.split() for line in ok.output.splitlines() if line.startswith("node-")}  # fmt: skip
    assert rows["node-a"][1:4] == ["10.0.0.1:8081", "running", "yes"]
    assert rows["node-a"][6] == "3" and rows["node-b"][6] == "2"  # CAMERAS
    assert f"  node-b: {w.cameras[3]}, {w.cameras[4]}" in ok.output
    assert "unrecorded cameras (0): -" in ok.output and "problem" not in ok.output
    assert "timed duties:" in ok.output

    make_stale(pg, "node-b")
    bad = _run(data, pg_url)
    assert bad.exit_code == 1, bad.output
    assert "Traceback" not in bad.output
    rows = {line.split()[0]: line.split() for line in bad.output.splitlines() if line.startswith("node-")}  # fmt: skip
    assert rows["node-b"][3] == "NO" and rows["node-b"][8] == "2"  # LIVE, EXPIRED
    assert f"problem: 2 cameras in service are recorded by no live node: {w.cameras[3]}, {w.cameras[4]}" in bad.output  # fmt: skip
    assert "problem: node node-b is not live and still holds 2 leases" in bad.output

    as_json = _run(data, pg_url, "--json")
    assert as_json.exit_code == 1
    body = json.loads(as_json.output)
    assert body["healthy"] is False and body["clustered"] is True
    assert [c["id"] for c in body["unrecorded"]] == w.cameras[3:]
    assert {(p["kind"], p["subject"]) for p in body["problems"]} >= {("dead_holder", "node-b")}
    assert {n["name"]: n["live"] for n in body["nodes"]} == {"node-a": True, "node-b": False}


def test_one_machine_on_sqlite_says_so_and_exits_0(sqlite_template: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(sqlite_template, data / sqlite_template.name)
    c = bootstrap(Settings(data_dir=data))
    register_cameras(c, 3)
    c.close()
    r = _run(data, None)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0] == (
        "single machine: one recorder records all 3 cameras in service; no recorder nodes,"
        " no leases (SQLite is one machine's database)"
    )
    assert "Traceback" not in r.output
    body = json.loads(_run(data, None, "--json").output)
    assert body["single_machine"] == "sqlite" and body["nodes"] == [] and body["healthy"]


def test_no_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    r = _run(tmp_path / "none", None)
    assert r.exit_code == 2 and "Traceback" not in r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "no Custos database" in lines[0], r.output
    assert not (tmp_path / "none").exists()
