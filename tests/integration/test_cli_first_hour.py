"""The first hour with the `custos` command: every verb on a data directory that was never set up
says in one line what to run (or sets it up), nothing is written before the input is valid, and
the commands Custos prints work as printed (docs/design/first-hour.md)."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from custos.entrypoints.cli.main import main

PASSWORD = "a long enough password"

# Every verb, with the fewest arguments that make it valid, and what it does on an empty data
# directory. A verb added to the command without a line here fails the walk below.
REFUSES_WITHOUT_DATABASE: dict[str, list[str]] = {
    "check": [],
    "audit verify": [],
    "audit export": [],
    "audit checkpoint": [],
    "compliance report": [],
    "retention purge": [],
    "retention policy": ["1"],
    "footage delete": ["1"],
    "footage import": ["1", __file__, "--start", "2026-11-20T10:00:00+08:00", "--purpose", "NVR"],
    "onvif discover": ["--unit", "1", "--interface", "lo"],
    "onvif proposals": [],
    "keys list": [],
    "keys rotate-export": [],
    "cluster status": [],
}
NEEDS_NO_DATABASE: dict[str, list[str]] = {
    "rules list": [],
    "divisions info": [],
    "divisions show": ["610113"],
}
SETS_UP: dict[str, list[str]] = {"db upgrade": [], "user create": ["first", "--role", "auditor"]}
REFUSES_WITHOUT_OBJECT_STORE: dict[str, list[str]] = {"objectstore offload": []}
# Long-running servers: they migrate first; tests/integration/test_child_processes.py runs the
# demo (and so the server), tests/integration/test_cli.py runs serve.
SERVERS = {"serve", "demo", "recorder", "objectstore serve"}


def _invoke(data_dir: Path, verb: str, args: list[str], stdin: str = "") -> click.testing.Result:
    env = {
        "CUSTOS_DATA_DIR": str(data_dir),
        "CUSTOS_DATABASE_URL": None,
        "CUSTOS_S3_ENDPOINT": None,
    }
    return CliRunner().invoke(main, [*verb.split(), *args], input=stdin, env=env)


def test_every_verb_is_known_to_the_first_hour_walk() -> None:
    known = (
        set(REFUSES_WITHOUT_DATABASE)
        | set(NEEDS_NO_DATABASE)
        | set(SETS_UP)
        | set(REFUSES_WITHOUT_OBJECT_STORE)
        | SERVERS
    )
    assert {verb for verb, _ in _commands(main)} == known


@pytest.mark.parametrize("verb", sorted(REFUSES_WITHOUT_DATABASE))
def test_a_verb_on_an_empty_data_directory_says_what_to_run_and_writes_nothing(
    tmp_path: Path, verb: str
) -> None:
    data = tmp_path / "data"
    r = _invoke(data, verb, REFUSES_WITHOUT_DATABASE[verb])
    assert r.exit_code == 2, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert "Traceback" not in r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1, r.output
    assert f"no Custos database in {data.resolve()}" in lines[0]
    assert f"db upgrade --data-dir {data.resolve()}" in lines[0]
    assert not data.exists(), "nothing is written in a directory that was never set up"


def test_the_verbs_that_set_up_or_need_nothing_work_on_an_empty_data_directory(
    tmp_path: Path,
) -> None:
    for verb, args in (NEEDS_NO_DATABASE | SETS_UP).items():
        data = tmp_path / verb.replace(" ", "-")
        r = _invoke(data, verb, args, stdin=PASSWORD + "\n")
        assert r.exit_code == 0, (verb, r.output, r.exception)
        assert "Traceback" not in r.output
    offload = _invoke(tmp_path / "s3", "objectstore offload", [])
    assert offload.exit_code == 2 and "CUSTOS_S3_ENDPOINT" in offload.output
    assert not (tmp_path / "s3").exists()


def test_the_refused_verbs_work_once_the_printed_command_has_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    refused = _invoke(data, "check", [])
    printed = refused.output.split("run: ", 1)[1].strip()
    env = os.environ | {"CUSTOS_DATA_DIR": "/nonexistent-on-purpose"}
    env.pop("CUSTOS_DATABASE_URL", None)
    done = subprocess.run(
        shlex.split(printed), capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert _invoke(data, "check", []).exit_code == 0


def _custos_in(cwd: Path, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOS_")}
    return subprocess.run(
        [sys.executable, "-m", "custos", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (["Admin", "--role", "admin"], PASSWORD, "username: 3–64 characters"),
        (["admin", "--role", "admin"], "short", "password: at least 12 characters"),
        (["duty", "--role", "operator"], PASSWORD, "give its unit id"),
        (["duty", "--role", "operator", "--unit", "7"], PASSWORD, "no unit with id 7"),
    ],
)
def test_a_refused_user_create_leaves_no_files_behind(
    tmp_path: Path, args: list[str], stdin: str, says: str
) -> None:
    r = _custos_in(tmp_path, "user", "create", *args, stdin=stdin + "\n")
    assert r.returncode == 2, r.stderr
    assert says in r.stderr
    assert "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == [], "nothing written (no ./data, no keys) before validation"


def test_user_create_states_its_rules_in_its_help(tmp_path: Path) -> None:
    r = _custos_in(tmp_path, "user", "create", "--help", stdin="")
    assert "lowercase letters, digits" in r.stdout
    assert "at least 12 characters" in r.stdout


def test_the_recorder_sets_up_an_empty_data_directory_and_stops_in_order(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOS_")}
    env |= {"CUSTOS_RECORDER_METRICS_PORT": "0"}
    log = tmp_path / "recorder.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "custos", "recorder", "--data-dir", str(data)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 60
        while "reconcile:" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in log.read_text()
    assert (data / "custos.db").is_file()


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix}{name} ")
        else:
            found.append((f"{prefix}{name}", command))
    return found


def test_every_integer_a_verb_takes_is_bounded() -> None:
    unbounded = [
        f"{verb} {param.name}"
        for verb, command in _commands(main)
        for param in command.params
        if isinstance(param.type, click.types.IntParamType)
        and not (
            isinstance(param.type, click.IntRange)
            and param.type.min is not None
            and param.type.max is not None
        )
    ]
    assert unbounded == []


def test_an_id_too_large_for_the_database_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    huge = str(2**64)
    for verb, args in [
        ("retention policy", [huge]),
        ("footage delete", [huge]),
        ("compliance report", ["--unit", huge]),
    ]:
        result = _invoke(tmp_path, verb, args)
        assert result.exit_code == 2, (verb, result.output)
        assert "is not in the range 1<=x<=2147483647" in result.output, (verb, result.output)
        assert "Traceback" not in result.output
