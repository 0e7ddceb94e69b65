"""Alarm delivery channels: Apprise (e-mail, DingTalk, WeCom, Feishu, …) and the signed webhook.

:class:`ChannelDispatcher` implements ``services.alarm_delivery.ChannelSender`` and picks the
sender by the channel's kind."""

from __future__ import annotations

from custos.adapters.notify.apprise_sender import AppriseSender, apprise_url_problem
from custos.adapters.notify.webhook import WebhookSender
from custos.domain.clock import Clock
from custos.domain.notify import Channel, ChannelKind, Notice


class ChannelDispatcher:
    def __init__(self, clock: Clock, timeout_s: float = 10.0) -> None:
        self._apprise = AppriseSender(timeout_s)
        self._webhook = WebhookSender(clock, timeout_s)

    def send(self, channel: Channel, notice: Notice) -> None:
        if channel.kind is ChannelKind.WEBHOOK:
            self._webhook.send(channel, notice)
        else:
            self._apprise.send(channel, notice)

    @staticmethod
    def url_problem(kind: ChannelKind, url: str) -> str | None:
        """Why ``url`` cannot be used for a channel of ``kind`` (None: it can)."""
        if kind is ChannelKind.WEBHOOK:
            return WebhookSender.url_problem(url)
        return apprise_url_problem(url)


__all__ = ["AppriseSender", "ChannelDispatcher", "WebhookSender"]
