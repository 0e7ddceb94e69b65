"""Custos as the UAC of GB/T 28181 media: INVITE a device's channel, ACK, BYE (docs/design/gb28181.md,
"Media (G4)").

:class:`DeviceMedia` lives on the SIP server's asyncio loop and uses its endpoint. ``invite``
checks the device is online and the channel is one of its channels, allocates an SSRC, sends
``INVITE sip:<channel>@<device address>`` with ``Subject: <channel>:<ssrc>,<platform>:0`` and
an SDP ``s=Play`` offer (``a=recvonly``, ``y=``), re-sends it over UDP (RFC 3261 timer A) until a
provisional or final answer, and waits for the final one: a 200 is ACKed and kept as a dialog
(Call-ID, tags, CSeq, remote target, route) for BYE; 4xx–6xx is ``refused`` (ACKed); silence is
``timeout`` (and a CANCEL); an SDP we cannot use is ``bad_answer`` naming the field (ACK, BYE).
A BYE from the device gets 200 and ends its dialog; a device going offline or unregistering ends
its dialogs (BYE, best effort). Every outcome is logged (not the operation log: a recorder
re-INVITEs every few seconds while a device is away).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field

from custos.adapters.sip.message import (
    SipMessage,
    header_param,
    new_branch,
    new_tag,
    response_to,
)
from custos.adapters.sip.transport import Peer, SipEndpoint
from custos.domain import gb_sdp
from custos.domain.errors import ValidationFailed
from custos.domain.gb_media import MediaAnswer, MediaOffer, MediaRefused

log = logging.getLogger(__name__)

T1_S = 0.5  # RFC 3261 timer T1: the first re-send; then doubling
T2_S = 4.0  # the longest gap between re-sends of a non-INVITE request
ANSWERED_KEPT_S = 32.0  # how long a finished INVITE is remembered for late answers (Timer D)
BYE_TRIES_S = 8.0  # how long a BYE is re-sent over UDP without an answer
MAX_TIMEOUT_S = 60.0
SDP_TYPE = "application/sdp"
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - a bind address, not a contact


@dataclass(frozen=True)
class Dialog:
    """One established media call: what a BYE in it needs."""

    call_id: str
    device_id: str
    channel_id: str
    ssrc: str
    peer: Peer
    local: str  # our From header, with our tag
    remote: str  # the device's To header, with its tag
    target: str  # the device's Contact URI (the request-URI of in-dialog requests)
    route: tuple[str, ...]
    invite_cseq: int
    via_host: str  # what our Via says


@dataclass
class _Invite:
    offer: MediaOffer
    ssrc: str
    request: SipMessage
    peer: Peer
    answer: asyncio.Future[SipMessage]
    provisional: bool = False
    abandoned: bool = False  # timed out and cancelled: a late 200 is ACKed and BYEd
    done_at: float | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


@dataclass(frozen=True)
class LocalParty:
    """Who we are in the SIP messages we send."""

    platform_id: str
    domain: str
    host: str  # Via and Contact; a wildcard bind uses the offer's media address instead


class DeviceMedia:
    def __init__(
        self,
        endpoint: SipEndpoint,
        me: LocalParty,
        device_peer: Callable[[str], Peer | None],
        channel_known: Callable[[str, str], bool],
    ) -> None:
        self._endpoint = endpoint
        self._me = me
        self._device_peer = device_peer  # the registered address of an ONLINE device, else None
        self._channel_known = channel_known
        self._invites: dict[str, _Invite] = {}
        self._dialogs: dict[str, Dialog] = {}
        self._byes: dict[str, asyncio.Task[None]] = {}  # our BYE transactions by Call-ID
        self._bye_answered: set[str] = set()
        self._cseq = 0
        self._ssrc_counter = 0

    # --- what the control socket asks ---------------------------------------------------------

    @property
    def dialogs(self) -> dict[str, Dialog]:
        return dict(self._dialogs)

    async def invite(self, offer: MediaOffer, timeout_s: float) -> MediaAnswer:
        """INVITE the device to send ``offer``'s channel; raises :class:`MediaRefused`."""
        started = time.monotonic()
        try:
            answer = await self._invite(offer, min(max(timeout_s, 0.1), MAX_TIMEOUT_S))
        except MediaRefused as refusal:
            log.warning("GB INVITE %s/%s refused (%s): %s", offer.device_id, offer.channel_id,
                        refusal.reason, refusal.detail)  # fmt: skip
            raise
        log.info("GB INVITE %s/%s answered in %.0f ms: call %s, SSRC %s, media %s:%d %s",
                 offer.device_id, offer.channel_id, (time.monotonic() - started) * 1000,
                 answer.call_id, answer.ssrc, answer.ip, answer.port, answer.transport)  # fmt: skip
        return answer

    def bye(self, call_id: str, why: str = "asked") -> None:
        """End a call with BYE (re-sent over UDP until answered); an unknown call is ignored."""
        dialog = self._dialogs.pop(call_id, None)
        if dialog is None:
            return
        log.info("GB BYE to %s/%s, call %s (%s)", dialog.device_id, dialog.channel_id, call_id, why)
        self._cseq += 1
        bye = self._in_dialog("BYE", dialog, max(self._cseq, dialog.invite_cseq + 1))
        self._byes[call_id] = asyncio.get_running_loop().create_task(self._send_bye(bye, dialog))

    def end_device(self, device_id: str, why: str) -> None:
        """The device went offline or unregistered: its calls end (BYE, best effort)."""
        for call_id in [c for c, d in self._dialogs.items() if d.device_id == device_id]:
            self.bye(call_id, why)
        for invite in self._invites.values():
            if invite.offer.device_id == device_id and not invite.answer.done():
                invite.answer.set_exception(MediaRefused("device_offline", why))

    def close(self) -> None:
        """The server stops: one BYE for every call, no waiting for answers."""
        for call_id, dialog in list(self._dialogs.items()):
            self._endpoint.send(self._in_dialog("BYE", dialog, dialog.invite_cseq + 1), dialog.peer)
            del self._dialogs[call_id]
        for task in self._byes.values():
            task.cancel()

    # --- what arrives from devices ------------------------------------------------------------

    def on_response(self, msg: SipMessage) -> bool:
        """A response to one of our requests; False if it is not ours."""
        method = msg.cseq[1]
        status = msg.status or 0
        if method in ("BYE", "CANCEL"):
            if method == "BYE" and status >= 200:
                self._bye_answered.add(msg.call_id)
            return msg.call_id in self._byes or msg.call_id in self._invites
        if method != "INVITE":
            return False
        invite = self._invites.get(msg.call_id)
        if invite is None:
            return False
        if status < 200:
            invite.provisional = True
            return True
        if status >= 300:
            self._send(self._ack_failure(invite, msg), invite.peer)
        elif invite.answer.done():  # a re-sent 200 (it wants its ACK again), or a late one
            self._send(self._ack_success(invite, msg), invite.peer)
            if invite.abandoned:
                self._late_success(invite, msg)
        if not invite.answer.done():
            invite.answer.set_result(msg)
        return True

    def on_bye(self, msg: SipMessage) -> SipMessage:
        """A BYE from the device: 200 and the dialog ends (481 if we know no such call: Call-ID
        and both tags must match, RFC 3261 §12)."""
        dialog = self._dialogs.get(msg.call_id)
        if dialog is None or (
            header_param(msg.get("From") or "", "tag") != header_param(dialog.remote, "tag")
            or header_param(msg.get("To") or "", "tag") != header_param(dialog.local, "tag")
        ):
            return response_to(msg, 481)
        del self._dialogs[msg.call_id]
        log.info("GB device %s ended call %s (channel %s) with BYE", dialog.device_id,
                 msg.call_id, dialog.channel_id)  # fmt: skip
        return response_to(msg, 200)

    def forget_finished(self) -> None:
        """Drop INVITE transactions finished more than 32 s ago (run with the periodic check)."""
        now = time.monotonic()
        for call_id, inv in list(self._invites.items()):
            if inv.done_at is not None and now - inv.done_at > ANSWERED_KEPT_S:
                del self._invites[call_id]
        for call_id, task in list(self._byes.items()):
            if task.done():
                del self._byes[call_id]
                self._bye_answered.discard(call_id)

    # --- inside --------------------------------------------------------------------------------

    async def _invite(self, offer: MediaOffer, timeout_s: float) -> MediaAnswer:
        if offer.playback is not None:
            raise MediaRefused("refused", "playback from a device's storage is not built")
        peer = self._device_peer(offer.device_id)
        if peer is None:
            raise MediaRefused("device_offline", f"device {offer.device_id} is not online")
        if not self._channel_known(offer.device_id, offer.channel_id):
            raise MediaRefused(
                "unknown_channel", f"{offer.channel_id} is not a channel of {offer.device_id}"
            )
        invite = self._new_invite(offer, peer)
        self._invites[invite.request.call_id] = invite
        try:
            if not self._send(invite.request, peer):
                raise MediaRefused("device_offline", f"no connection to {peer.address}")
            if peer.transport == "UDP":
                self._spawn(invite, self._resend_invite(invite))
            try:
                final = await asyncio.wait_for(asyncio.shield(invite.answer), timeout_s)
            except TimeoutError:
                self._abandon(invite)
                raise MediaRefused("timeout", f"no final answer in {timeout_s:g} s") from None
            return self._answered(invite, final)
        finally:
            invite.done_at = time.monotonic()
            for task in invite.tasks:
                task.cancel()

    def _new_invite(self, offer: MediaOffer, peer: Peer) -> _Invite:
        ssrc = self._new_ssrc()
        host = self._local_host(offer)
        sdp = gb_sdp.MediaDescription(
            session="Play", origin_id=self._me.platform_id, ip=offer.ip, port=offer.port,
            transport=offer.transport, ssrc=ssrc, direction="recvonly",
        )  # fmt: skip
        self._cseq += 1
        req = SipMessage(method="INVITE", uri=f"sip:{offer.channel_id}@{peer.address}")
        req.add("Via", f"SIP/2.0/{peer.transport} {host}:{self._endpoint.port};rport;"
                       f"branch={new_branch()}")  # fmt: skip
        req.add("From", f"<sip:{self._me.platform_id}@{self._me.domain}>;tag={new_tag()}")
        req.add("To", f"<sip:{offer.channel_id}@{self._me.domain}>")
        req.add("Call-ID", f"{new_tag()}{new_tag()}@{self._me.domain}")
        req.add("CSeq", f"{self._cseq} INVITE")
        req.add("Contact", f"<sip:{self._me.platform_id}@{host}:{self._endpoint.port}>")
        req.add("Max-Forwards", "70")
        req.add("Subject", f"{offer.channel_id}:{ssrc},{self._me.platform_id}:0")
        req.add("Content-Type", SDP_TYPE)
        req.body = gb_sdp.build(sdp)
        future: asyncio.Future[SipMessage] = asyncio.get_running_loop().create_future()
        return _Invite(offer, ssrc, req, peer, future)

    def _answered(self, invite: _Invite, final: SipMessage) -> MediaAnswer:
        status = final.status or 0
        if status >= 300:
            raise MediaRefused("refused", f"{status} {final.reason}"[:200])
        ack = self._ack_success(invite, final)
        self._send(ack, invite.peer)
        dialog = self._dialog(invite, final)
        try:
            answer = self._read_answer(invite, final)
        except MediaRefused:
            self._dialogs[dialog.call_id] = dialog
            self.bye(dialog.call_id, "unusable answer")
            raise
        self._dialogs[dialog.call_id] = dialog
        return answer

    def _read_answer(self, invite: _Invite, final: SipMessage) -> MediaAnswer:
        if not final.body:
            raise MediaRefused("bad_answer", "sdp: the 200 OK carries no SDP")
        try:
            sdp = gb_sdp.parse(final.body)
        except ValidationFailed as e:
            first = e.errors[0]
            raise MediaRefused("bad_answer", f"{first.field}: {first.reason}") from None
        offered_tcp = invite.offer.transport != "udp"
        if offered_tcp != (sdp.transport != "udp"):
            want = "TCP/RTP/AVP" if offered_tcp else "RTP/AVP"
            raise MediaRefused("bad_answer", f"sdp.m: {want} was offered")
        return MediaAnswer(
            call_id=final.call_id,
            ssrc=sdp.ssrc or invite.ssrc,
            ip=sdp.ip,
            port=sdp.port,
            transport=invite.offer.transport,
        )

    def _dialog(self, invite: _Invite, final: SipMessage) -> Dialog:
        contact = final.get("Contact") or ""
        target = contact[contact.find("<") + 1 : contact.find(">")] if "<" in contact else contact
        return Dialog(
            call_id=final.call_id,
            device_id=invite.offer.device_id,
            channel_id=invite.offer.channel_id,
            ssrc=invite.ssrc,
            peer=invite.peer,
            local=invite.request.get("From") or "",
            remote=final.get("To") or "",
            target=target.split(";", 1)[0].strip() or (invite.request.uri or ""),
            route=tuple(reversed(final.get_all("Record-Route"))),
            invite_cseq=invite.request.cseq[0],
            via_host=self._local_host(invite.offer),
        )

    def _late_success(self, invite: _Invite, final: SipMessage) -> None:
        """A 200 after we gave up: ACKed above, now ended at once."""
        if final.call_id in self._byes or final.call_id in self._dialogs:
            return
        dialog = self._dialog(invite, final)
        self._dialogs[dialog.call_id] = dialog
        self.bye(dialog.call_id, "answered after the time-out")

    def _abandon(self, invite: _Invite) -> None:
        invite.abandoned = True
        cancel = SipMessage(method="CANCEL", uri=invite.request.uri)
        for name in ("Via", "From", "To", "Call-ID"):
            cancel.add(name, invite.request.get(name) or "")
        cancel.add("CSeq", f"{invite.request.cseq[0]} CANCEL")
        cancel.add("Max-Forwards", "70")
        self._send(cancel, invite.peer)
        if not invite.answer.done():  # a final answer still gets its ACK in on_response
            invite.answer.cancel()

    def _ack_success(self, invite: _Invite, final: SipMessage) -> SipMessage:
        return self._in_dialog("ACK", self._dialog(invite, final), invite.request.cseq[0])

    def _ack_failure(self, invite: _Invite, final: SipMessage) -> SipMessage:
        """The ACK of a non-2xx answer: part of the INVITE transaction (RFC 3261 §17.1.1.3)."""
        ack = SipMessage(method="ACK", uri=invite.request.uri)
        ack.add("Via", invite.request.get("Via") or "")
        ack.add("From", invite.request.get("From") or "")
        ack.add("To", final.get("To") or "")
        ack.add("Call-ID", invite.request.call_id)
        ack.add("CSeq", f"{invite.request.cseq[0]} ACK")
        ack.add("Max-Forwards", "70")
        return ack

    def _in_dialog(self, method: str, dialog: Dialog, cseq: int) -> SipMessage:
        msg = SipMessage(method=method, uri=dialog.target)
        msg.add("Via", f"SIP/2.0/{dialog.peer.transport} {dialog.via_host}:{self._endpoint.port};rport;"
                       f"branch={new_branch()}")  # fmt: skip
        for route in dialog.route:
            msg.add("Route", route)
        msg.add("From", dialog.local)
        msg.add("To", dialog.remote)
        msg.add("Call-ID", dialog.call_id)
        msg.add("CSeq", f"{cseq} {method}")
        msg.add("Max-Forwards", "70")
        return msg

    async def _resend_invite(self, invite: _Invite) -> None:
        """Timer A: re-send at T1, 2·T1, 4·T1 … until any answer."""
        wait = T1_S
        while not invite.provisional and not invite.answer.done():
            await asyncio.sleep(wait)
            if invite.provisional or invite.answer.done():
                return
            self._send(invite.request, invite.peer)
            wait *= 2

    async def _send_bye(self, bye: SipMessage, dialog: Dialog) -> None:
        self._send(bye, dialog.peer)
        if dialog.peer.transport != "UDP":
            return
        wait, spent = T1_S, 0.0
        while spent < BYE_TRIES_S:
            await asyncio.sleep(wait)
            spent += wait
            if dialog.call_id in self._bye_answered:
                return
            self._send(bye, dialog.peer)
            wait = min(wait * 2, T2_S)
        log.warning("GB BYE for call %s to %s unanswered", dialog.call_id, dialog.device_id)

    def _spawn(self, invite: _Invite, coro: Coroutine[object, object, None]) -> None:
        invite.tasks.add(asyncio.get_running_loop().create_task(coro))

    def _send(self, msg: SipMessage, peer: Peer) -> bool:
        return self._endpoint.send(msg, peer)

    def _new_ssrc(self) -> str:
        busy = {d.ssrc for d in self._dialogs.values()}
        busy |= {i.ssrc for i in self._invites.values() if i.done_at is None}
        for _ in range(10_000):
            self._ssrc_counter = self._ssrc_counter % 9999 + 1
            ssrc = gb_sdp.new_ssrc(self._me.domain, False, self._ssrc_counter)
            if ssrc not in busy:
                return ssrc
        raise MediaRefused("refused", "no free SSRC: 9,999 calls in flight")

    def _local_host(self, offer: MediaOffer) -> str:
        return offer.ip if self._me.host in WILDCARD_HOSTS else self._me.host
