"""Apprise's own log lines quote channel URLs and tokens (DingTalk's POST URL carries the
access_token, at DEBUG): none of it reaches the root handlers raw."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from custos.adapters.notify.apprise_sender import AppriseSender
from custos.domain.notify import Channel, ChannelKind, DeliveryError, Notice

TOKEN = "d1ngT4lkAcc3ssT0ken0123456789abcdef"


class _Sink(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def text(self) -> str:
        return "\n".join(f"{r.name} {r.getMessage()}" for r in self.records)


@pytest.fixture
def root_sink() -> Iterator[_Sink]:
    """What the root handlers (the server's log) receive, at DEBUG. (caplog would not do: it
    also attaches itself to non-propagating loggers.)"""
    root, sink = logging.getLogger(), _Sink()
    level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(sink)
    yield sink
    root.removeHandler(sink)
    root.setLevel(level)


def _channel() -> Channel:
    return Channel(1, None, "duty group", ChannelKind.APPRISE, f"dingtalk://{TOKEN}/",
                   None, True, datetime(2026, 1, 1, tzinfo=UTC))  # fmt: skip


def test_a_channel_token_never_reaches_the_log(
    root_sink: _Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    import apprise.plugins.dingtalk as dingtalk

    def refuse(url: str, *a: Any, **kw: Any) -> None:
        raise requests.ConnectionError(f"cannot reach {url}?access_token={TOKEN}")

    monkeypatch.setattr(dingtalk.requests, "post", refuse)
    sender = AppriseSender(timeout_s=1)
    with pytest.raises(DeliveryError) as failed:
        sender.send(_channel(), Notice("camera offline", "door", {}))
    assert TOKEN not in str(failed.value)
    # Apprise's WARNING still arrives, masked, through Custos's logger
    assert any("apprise" in r.name and r.levelno >= logging.WARNING for r in root_sink.records)
    assert TOKEN not in root_sink.text
    assert all(r.levelno >= logging.WARNING for r in root_sink.records if "apprise" in r.name)


def test_apprise_warnings_are_masked_and_debug_dropped(root_sink: _Sink) -> None:
    AppriseSender()
    apprise_log = logging.getLogger("apprise")
    apprise_log.debug("POST https://oapi.dingtalk.com/robot/send?access_token=%s", TOKEN)
    apprise_log.warning("failed: https://oapi.dingtalk.com/robot/send?access_token=%s", TOKEN)
    assert TOKEN not in root_sink.text
    assert "https://***" in root_sink.text
