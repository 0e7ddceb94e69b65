"""``custos keys list`` and ``custos keys rotate-export`` on a migrated data directory."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from custos.entrypoints.cli.main import main


def _invoke(data_dir: Path, *args: str) -> Result:
    env = {"CUSTOS_DATA_DIR": str(data_dir), "CUSTOS_DATABASE_URL": None}
    return CliRunner().invoke(main, list(args), env=env)


def test_rotation_retires_the_export_key_and_the_list_shows_both(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert _invoke(data, "db", "upgrade").exit_code == 0
    first = _invoke(data, "keys", "list")
    assert first.exit_code == 0, first.output
    lines = [ln for ln in first.output.splitlines() if not ln.startswith(" ")]
    assert [ln.split()[0] for ln in lines] == ["export", "log"]
    assert lines[0].endswith("current")
    old_id = lines[0].split()[1]
    rotated = _invoke(data, "keys", "rotate-export")
    assert rotated.exit_code == 0 and "new export key" in rotated.output
    new_id = rotated.output.split()[3]
    after = [ln for ln in _invoke(data, "keys", "list").output.splitlines() if ln[:1] != " "]
    assert [ln.split()[1] for ln in after] == [old_id, new_id, after[2].split()[1]]
    assert not after[0].endswith("current") and after[1].endswith("current")
    assert "PRIVATE" not in (data / "keys" / "export-keys.json").read_text()
