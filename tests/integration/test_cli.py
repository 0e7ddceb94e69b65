"""The `custos` command as a user runs it: a real process, a real data directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.ports import free_port as _free_port

CUSTOS = [sys.executable, "-m", "custos"]
PASSWORD = "a long enough password"


def _run(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = os.environ | {"CUSTOS_DATA_DIR": str(data_dir)}
    env.pop("CUSTOS_DATABASE_URL", None)
    return subprocess.run(
        [*CUSTOS, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


def test_user_create_reads_the_password_from_stdin_not_argv(tmp_path: Path) -> None:
    assert _run(tmp_path, "db", "upgrade").returncode == 0
    r = _run(tmp_path, "user", "create", "admin", "--role", "admin", stdin=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    assert "created user admin" in r.stdout
    assert PASSWORD not in r.stdout + r.stderr
    again = _run(tmp_path, "user", "create", "admin", "--role", "admin", stdin=PASSWORD + "\n")
    assert again.returncode == 2 and "already exists" in again.stderr
    short = _run(tmp_path, "user", "create", "bob", "--role", "auditor", stdin="short\n")
    assert short.returncode == 2 and "password" in short.stderr


def test_rules_list_names_all_six_packs(tmp_path: Path) -> None:
    r = _run(tmp_path, "rules", "list")
    assert r.returncode == 0, r.stderr
    for pack in (
        "national-2025",
        "beijing-2007",
        "liaoning-2008",
        "shaanxi-2011",
        "chongqing-2016",
        "xian-2020",
    ):
        assert pack in r.stdout


def test_compliance_report_runs_on_an_empty_registry(tmp_path: Path) -> None:
    assert _run(tmp_path, "db", "upgrade").returncode == 0
    r = _run(tmp_path, "compliance", "report", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == []


def test_serve_starts_on_embedded_defaults_and_prints_its_url(tmp_path: Path) -> None:
    port = _free_port()
    env = os.environ | {"CUSTOS_DATA_DIR": str(tmp_path / "data")}
    env.pop("CUSTOS_DATABASE_URL", None)
    proc = subprocess.Popen(
        [*CUSTOS, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v1/health", timeout=1
                ) as r:
                    health = json.loads(r.read())
                break
            except OSError:
                time.sleep(0.3)
        else:
            raise AssertionError("custos serve did not answer within 60 s")
        assert health["status"] == "ok"
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/units", timeout=5)
            raise AssertionError("the unit list answered without a token")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
        assert (tmp_path / "data" / "custos.db").exists()
        key = tmp_path / "data" / "keys" / "secrets.key"
        assert key.stat().st_mode & 0o777 == 0o600
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}" in out
    assert "custos user create" in out, "first start tells how to make the first admin"
