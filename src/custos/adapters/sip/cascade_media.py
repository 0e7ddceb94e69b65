"""An upper platform's INVITEs for shared cameras: live (``s=Play``) and playback
(``s=Playback``) of Custos's own recordings, answered on the cascade link
(docs/design/gb28181.md, "Upward: live and playback for an upper platform").

INVITE → checks (shared: else 403; the SDP: else 400 naming the field; ``s=Download``: 488, not
built; live: the camera recorded now, else 488; playback: footage in ``t=`` the rules let out,
else 404) → 200 OK with our SDP (``a=sendonly``, the platform's ``y=``, our media address; over
TCP the other side of its ``a=setup``; ffmpeg is started already, its output held) → ACK:
sending starts (:mod:`custos.adapters.media.ps_sender`) and the view is registered → BYE: sending stops, the register entry gets its end, 200 OK. A BYE
for no dialog of ours gets 481. The link stopping ends every dialog. Each INVITE answered is in
the operation log as ``gb_cascade.invite`` with its answer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from custos.adapters.media.ps_sender import (
    LiveSource,
    MediaChannel,
    PlaybackFile,
    PlaybackSource,
    PsSender,
    PsSource,
    codec_name,
)
from custos.adapters.sip.message import SipMessage, new_tag, response_to, uri_user
from custos.domain import gb_sdp
from custos.domain.clock import Clock
from custos.domain.errors import ValidationFailed
from custos.domain.gb_cascade import UpperPlatform
from custos.domain.gb_sdp import MediaDescription, Transport
from custos.services.gb_upward import GbUpwardService, PlaybackPiece, UpwardView, span_of
from custos.services.live_tail import first_tail, recording_now

log = logging.getLogger(__name__)

UNACKED_S = 32.0  # RFC 3261 timer H: a 200 never ACKed is given up
MAX_DIALOGS = 32  # streams to one upper platform at once; more → 486 Busy Here
_OUR_SETUP: dict[Transport, Transport] = {
    "udp": "udp",
    "tcp-passive": "tcp-active",  # the platform listens: we connect
    "tcp-active": "tcp-passive",  # the platform connects: we listen
}


@dataclass(frozen=True)
class UpwardMediaConfig:
    """What serving media upward needs, wired by bootstrap."""

    service: GbUpwardService
    media_root: Path  # volume 0, where the recorder writes the files in flight
    scratch: Path  # concat lists of playbacks
    clock: Clock
    ffmpeg: str = "ffmpeg"


class InviteLog(Protocol):
    def log_link_event(
        self, platform: UpperPlatform, action: str, detail: dict[str, Any], refused: bool
    ) -> None: ...


class Refusal(Exception):  # noqa: N818 - an answer, not a programming error
    def __init__(self, status: int, reason: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.detail = detail or {}


@dataclass
class Dialog:
    call_id: str
    camera_id: int
    span: tuple[Any, Any] | None
    sender: PsSender
    invite: SipMessage
    answer: SipMessage
    answered_at: float
    channel_id: str = ""
    cseq: int = 0  # our requests inside the dialog (MediaStatus, BYE)
    view: UpwardView | None = None
    ended: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class UpwardDialogs:
    """The media dialogs of one cascade link (its thread calls ``on_*``; senders run apart)."""

    def __init__(
        self,
        platform: UpperPlatform,
        my_id: str,
        answers: InviteLog,
        config: UpwardMediaConfig,
        media_ip: str,
    ) -> None:
        self._p = platform
        self._my_id = my_id
        self._answers = answers
        self._config = config
        self._media_ip = media_ip
        self._dialogs: dict[str, Dialog] = {}
        self._outbox: list[tuple[str, str]] = []  # (call, "status" | "bye") for the link to send
        self._sn = 0
        self._lock = threading.Lock()

    @property
    def active(self) -> list[str]:
        with self._lock:
            return [d.call_id for d in self._dialogs.values() if not d.ended]

    # --- requests ------------------------------------------------------------------------------

    def on_invite(self, req: SipMessage, contact: str, send: Callable[[SipMessage], None]) -> None:
        """Answer through ``send``; after a 200, ffmpeg starts (its output held until the ACK)."""
        with self._lock:
            known = self._dialogs.get(req.call_id)
        if known is not None:
            send(known.answer)  # a retransmitted INVITE: the same 200
            return
        channel = uri_user(req.uri or "") or ""
        detail: dict[str, Any] = {"channel_id": channel, "call_id": req.call_id}
        try:
            if len(self.active) >= MAX_DIALOGS:
                raise Refusal(486, f"Busy Here: {MAX_DIALOGS} streams to this platform already")
            dialog = self._answer(req, channel, contact, detail)
        except Refusal as r:
            self._log({**detail, **r.detail, "answer": r.status}, refused=True)
            log.info("upper platform %s INVITE %s: %s %s", self._p.sip_id, channel, r.status,
                     r.reason)  # fmt: skip
            send(response_to(req, r.status, r.reason))
            return
        with self._lock:
            self._dialogs[req.call_id] = dialog
        send(dialog.answer)
        dialog.sender.start()  # ffmpeg starts now; sending waits for the ACK
        self._log({**detail, "answer": 200}, refused=False)

    def on_ack(self, req: SipMessage) -> None:
        with self._lock:
            dialog = self._dialogs.get(req.call_id)
        if dialog is None or dialog.view is not None or dialog.ended:
            return
        dialog.view = self._config.service.open(
            self._p, dialog.camera_id, dialog.span, dialog.call_id
        )
        dialog.sender.go()

    def on_bye(self, req: SipMessage) -> SipMessage:
        with self._lock:
            dialog = self._dialogs.pop(req.call_id, None)
        if dialog is None:
            return response_to(req, 481)
        self._end(dialog, "bye")
        return response_to(req, 200)

    def tick(self) -> None:
        """Give up a 200 never ACKed within timer H."""
        now = time.monotonic()
        with self._lock:
            stale = [
                d for d in self._dialogs.values()
                if d.view is None and now - d.answered_at > UNACKED_S
            ]  # fmt: skip
            for d in stale:
                del self._dialogs[d.call_id]
        for d in stale:
            self._end(d, "no ACK")

    def close(self) -> None:
        """The link stops: every dialog ends (its view registered as ended)."""
        with self._lock:
            dialogs = list(self._dialogs.values())
            self._dialogs.clear()
        for d in dialogs:
            self._end(d, "cascade link stopped")

    # --- internals -----------------------------------------------------------------------------

    def _answer(
        self, req: SipMessage, channel: str, contact: str, detail: dict[str, Any]
    ) -> Dialog:
        camera_id = self._config.service.shared_camera(self._p.id or 0, channel)
        if camera_id is None:
            log.warning("upper platform %s INVITEd unshared %s", self._p.sip_id, channel)
            raise Refusal(403, "Camera not shared with this platform")
        detail["camera_id"] = camera_id
        try:
            offer = gb_sdp.parse(req.body)
        except ValidationFailed as exc:
            err = exc.errors[0]
            raise Refusal(400, f"Bad SDP: {err.field} {err.reason}"[:120],
                          {"field": err.field, "error": err.reason}) from exc  # fmt: skip
        detail["session"] = offer.session
        if offer.session == "Download":
            raise Refusal(488, "Download not served (Play and Playback are)")
        if offer.session == "Play":
            span, source = None, self._live(camera_id)
        else:
            span = span_of(offer.start, offer.end, self._config.clock.now())
            if span is None:
                raise Refusal(400, "Bad SDP: sdp.t is not a past range in 2000-2099",
                              {"field": "sdp.t"})  # fmt: skip
            detail.update(start=span[0].isoformat(), end=span[1].isoformat())
            source = self._playback(camera_id, span)
        ours = _OUR_SETUP[offer.transport]
        try:
            media = MediaChannel(self._media_ip, (offer.ip, offer.port), ours)
        except OSError as exc:
            source.close()
            raise Refusal(500, "No media port") from exc
        ssrc = offer.ssrc or gb_sdp.new_ssrc(self._my_id[:10], span is not None, camera_id)
        sender = PsSender(media, int(ssrc) & 0xFFFFFFFF, source,
                          on_end=lambda why: self._ended_by_sender(req.call_id, why),
                          ffmpeg=self._config.ffmpeg)  # fmt: skip
        answer = self._ok(req, offer, ours, media.port, ssrc, contact)
        return Dialog(req.call_id, camera_id, span, sender, req, answer, time.monotonic(), channel)

    def _live(self, camera_id: int) -> PsSource:
        root = self._config.media_root
        if not recording_now(root, camera_id, time.time()):
            raise Refusal(488, "Camera not recording now")
        tail = first_tail(root, camera_id)
        if tail is None or codec_name(tail.codec) is None:
            raise Refusal(488, f"Codec {tail.codec if tail else 'unknown'} not served")
        return LiveSource(root, camera_id)

    def _playback(self, camera_id: int, span: tuple[Any, Any]) -> PsSource:
        pieces = self._config.service.playback(camera_id, span[0], span[1])
        if not pieces:
            raise Refusal(404, "No recording in that range")
        codec = codec_name(pieces[0].segment.codec)
        if codec is None:
            raise Refusal(488, f"Codec {pieces[0].segment.codec} not served")
        same = [p for p in pieces if codec_name(p.segment.codec) == codec]
        return PlaybackSource(_files(same, span), codec, self._config.scratch)

    def _ok(
        self,
        req: SipMessage,
        offer: MediaDescription,
        ours: Transport,
        port: int,
        ssrc: str,
        contact: str,
    ) -> SipMessage:
        sdp = MediaDescription(
            session=offer.session, origin_id=self._my_id, ip=self._media_ip, port=port,
            transport=ours, ssrc=ssrc, direction="sendonly", channel_id=offer.channel_id,
            start=offer.start, end=offer.end, payload_type=offer.payload_type,
            encoding=offer.encoding,
        )  # fmt: skip
        resp = response_to(req, 200, to_tag=new_tag())
        resp.add("Contact", contact)
        resp.add("Content-Type", "application/sdp")
        resp.body = gb_sdp.build(sdp)
        return resp

    def _ended_by_sender(self, call_id: str, reason: str) -> None:
        with self._lock:
            dialog = self._dialogs.get(call_id)
        if dialog is None:
            return
        log.info("upper platform %s: stream %s ended: %s", self._p.sip_id, call_id, reason)
        self._close_view(dialog, reason)
        done = dialog.span is not None and reason == "ended"  # a playback sent to its end
        with self._lock:
            self._outbox.append((call_id, "status" if done else "bye"))

    def requests(self, via: str) -> list[SipMessage]:
        """What Custos asks inside its dialogs, for the link to send (each waiting for its
        answer): at the end of a playback the MediaStatus MESSAGE (NotifyType 121), after which
        the platform sends BYE; when a stream failed (ffmpeg, the media connection), our BYE."""
        with self._lock:
            due, self._outbox = self._outbox, []
            dialogs = [(self._dialogs.get(call), what) for call, what in due]
            for call, what in due:
                if what == "bye":
                    self._dialogs.pop(call, None)
        out: list[SipMessage] = []
        for dialog, what in dialogs:
            if dialog is None:
                continue
            if what == "bye":
                out.append(self._in_dialog(dialog, "BYE", via))
                continue
            self._sn += 1
            msg = self._in_dialog(dialog, "MESSAGE", via)
            msg.add("Content-Type", "Application/MANSCDP+xml")
            msg.body = media_status(self._sn, dialog.channel_id)
            out.append(msg)
        return out

    def _in_dialog(self, dialog: Dialog, method: str, via: str) -> SipMessage:
        invite = dialog.invite
        uri = _uri(invite.get("Contact")) or f"sip:{self._p.sip_id}@{self._p.domain}"
        dialog.cseq += 1
        msg = SipMessage(method=method, uri=uri)
        msg.add("Via", via)
        msg.add("From", dialog.answer.get("To") or "")  # our side, with our tag
        msg.add("To", invite.get("From") or "")  # the platform's, with its tag
        msg.add("Call-ID", dialog.call_id)
        msg.add("CSeq", f"{dialog.cseq} {method}")
        msg.add("Max-Forwards", "70")
        return msg

    def _end(self, dialog: Dialog, reason: str) -> None:
        dialog.sender.stop()
        self._close_view(dialog, reason)

    def _close_view(self, dialog: Dialog, reason: str) -> None:
        with dialog.lock:
            if dialog.ended:
                return
            dialog.ended = True
            view = dialog.view
        if view is not None:
            self._config.service.close(self._p, view, reason)

    def _log(self, detail: dict[str, Any], refused: bool) -> None:
        self._answers.log_link_event(self._p, "gb_cascade.invite", detail, refused=refused)


def _files(pieces: list[PlaybackPiece], span: tuple[Any, Any]) -> list[PlaybackFile]:
    start, end = span
    out: list[PlaybackFile] = []
    for p in pieces:
        seg = p.segment
        inpoint = (start - seg.start_at).total_seconds() if seg.start_at < start else None
        outpoint = (end - seg.start_at).total_seconds() if seg.end_at > end else None
        out.append(PlaybackFile(p.path, inpoint, outpoint))
    return out


def media_status(sn: int, channel_id: str) -> bytes:
    """MANSCDP MediaStatus: the stream (a playback) has ended (NotifyType 121)."""
    return (
        f'<?xml version="1.0" encoding="GB2312"?>\r\n<Notify>\r\n'
        f"<CmdType>MediaStatus</CmdType>\r\n<SN>{sn}</SN>\r\n"
        f"<DeviceID>{channel_id}</DeviceID>\r\n<NotifyType>121</NotifyType>\r\n</Notify>\r\n"
    ).encode("ascii")


def _uri(contact: str | None) -> str | None:
    """The SIP URI inside a Contact value (``<sip:…>``, parameters after it dropped)."""
    if not contact:
        return None
    value = contact.strip()
    if "<" in value and ">" in value:
        return value[value.index("<") + 1 : value.index(">")]
    return value.split(";", 1)[0] or None
