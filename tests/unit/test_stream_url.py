"""Stream credentials are recognised wherever a camera URL carries them (issue 11 §5)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from custos.domain.errors import ValidationFailed
from custos.domain.stream_url import StreamUrl, redact_credentials
from custos.entrypoints.cli.main import main
from custos.entrypoints.cli.options import CredentialRedaction

SECRET = "S3cr3t-Pa55"

CARRIERS = [
    f"rtsp://admin:{SECRET}@10.0.0.5:554/ch1",
    f"rtsp://10.0.0.5/ch1?user=admin&password={SECRET}",
    f"rtsp://10.0.0.5/ch1?channel=1&PWD={SECRET}&subtype=0",
    f"rtsp://10.0.0.5/videoMain?usr=admin&Passwd={SECRET}",
    f"rtsp://10.0.0.5/live?username=admin&pass={SECRET}",
    f"http://10.0.0.5/cgi?loginuse=admin&loginpas={SECRET}",
    f"rtsp://10.0.0.5:554/user=admin&password={SECRET}&channel=1&stream=0.sdp?",
    f"rtsp://cam:{SECRET}@10.0.0.5/ch1?token={SECRET}",
]


@pytest.mark.parametrize("text", CARRIERS)
def test_credentials_are_kept_apart_and_given_back_only_for_the_connection(text: str) -> None:
    url = StreamUrl.parse(text, "main_stream_url")
    assert url.has_credentials
    for shown in (url.public, url.redacted(), repr(url), str(url)):
        assert SECRET not in shown
        assert "admin" not in shown
    assert SECRET in url.secret_values()
    assert url.with_credentials() == text


def test_other_parameters_stay_as_they_are() -> None:
    url = StreamUrl.parse("rtsp://10.0.0.5/cam/realmonitor?channel=1&subtype=0", "main")
    assert not url.has_credentials
    assert url.public == "rtsp://10.0.0.5/cam/realmonitor?channel=1&subtype=0"


def test_a_percent_encoded_userinfo_password_comes_back_encoded_once() -> None:
    url = StreamUrl.parse("rtsp://admin:p%40ss%3Aword@10.0.0.5/ch1", "main")
    assert url.password == "p@ss:word"
    assert url.with_credentials() == "rtsp://admin:p%40ss%3Aword@10.0.0.5/ch1"


def test_a_url_copied_back_from_the_api_is_recognised_as_masked() -> None:
    shown = StreamUrl.parse(f"rtsp://a:{SECRET}@h/ch1?pwd={SECRET}", "main").redacted()
    assert StreamUrl.parse(shown, "main").masked_only()
    assert not StreamUrl.parse(f"rtsp://h/ch1?pwd={SECRET}", "main").masked_only()


def test_rows_written_before_the_fix_are_split_when_read() -> None:
    legacy = StreamUrl.stored(f"rtsp://10.0.0.5/ch1?user=admin&password={SECRET}", None, None, ())
    assert SECRET not in legacy.public
    assert legacy.with_credentials() == f"rtsp://10.0.0.5/ch1?user=admin&password={SECRET}"


def test_a_bad_port_is_refused_without_quoting_the_url() -> None:
    with pytest.raises(ValidationFailed) as err:
        StreamUrl.parse(f"rtsp://admin:{SECRET}@host:port/ch1", "main_stream_url")
    assert err.value.errors[0].field == "main_stream_url"
    assert SECRET not in str(err.value)


def test_free_text_is_redacted_wherever_a_url_in_it_carries_credentials() -> None:
    line = (
        f"[rtsp @ 0x55] rtsp://admin:{SECRET}@10.0.0.5/ch1: Connection refused; "
        f"tried 'rtsp://10.0.0.5/ch1?usr=a&pwd={SECRET}' and /user=a&password={SECRET}&channel=1"
    )
    assert SECRET not in redact_credentials(line)
    assert "Connection refused" in redact_credentials(line)


def test_the_log_handler_masks_credentials_in_a_line_and_its_traceback() -> None:
    try:
        raise OSError(f"cannot open 'rtsp://10.0.0.5/ch1?usr=a&pwd={SECRET}'")
    except OSError:
        record = logging.LogRecord(
            "custos.recorder", logging.ERROR, __file__, 1, "run failed for %s",
            (f"rtsp://admin:{SECRET}@10.0.0.5/ch1",), sys.exc_info(),
        )  # fmt: skip
    assert CredentialRedaction().filter(record)
    line = logging.Formatter().format(record)
    assert "run failed for rtsp://***@10.0.0.5/ch1" in line
    assert "OSError" in line
    assert SECRET not in line


def test_serve_puts_the_mask_on_every_log_handler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[logging.Handler] = []

    def run_server(settings: object, with_recorder: bool) -> None:
        seen.extend(logging.getLogger().handlers)

    monkeypatch.setattr("custos.entrypoints.server.run_server", run_server)
    result = CliRunner().invoke(main, ["serve", "--no-recorder", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert seen
    assert all(any(isinstance(f, CredentialRedaction) for f in h.filters) for h in seen)
