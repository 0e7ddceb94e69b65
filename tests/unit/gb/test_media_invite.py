"""Custos as the UAC of a GB/T 28181 media INVITE (adapters/sip/invite.py), against a scripted
device on a loopback UDP socket: what we send (Subject, SDP, ACK, CANCEL, BYE) and how each answer
becomes a MediaAnswer or a MediaRefused."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import cast

import pytest

from custos.adapters.sip import invite as invite_module
from custos.adapters.sip.invite import DeviceMedia, LocalParty
from custos.adapters.sip.message import SipMessage, parse, response_to
from custos.adapters.sip.transport import Peer, SipEndpoint
from custos.domain import gb_sdp
from custos.domain.gb_media import MediaAnswer, MediaOffer, MediaRefused

PLATFORM = "34020000002000000001"
DOMAIN = "3402000000"
DEVICE = "34020000001180000001"
CHANNEL = "34020000001310000001"
OFFER = MediaOffer(DEVICE, CHANNEL, "127.0.0.1", 40000, "udp")

Script = Callable[["Device", SipMessage], list[SipMessage]]


def answer_sdp(ssrc: str | None = "0100000099", transport: gb_sdp.Transport = "udp") -> bytes:
    return gb_sdp.build(
        gb_sdp.MediaDescription("Play", CHANNEL, "127.0.0.1", 15060, transport, ssrc, "sendonly")
    )


@dataclass
class Device:
    """A device on a UDP socket: records what it receives, answers with ``script``."""

    script: Script
    received: list[SipMessage] = field(default_factory=list)
    transport: asyncio.DatagramTransport | None = None

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        msg = parse(data)
        self.received.append(msg)
        assert self.transport is not None
        for reply in self.script(self, msg):
            self.transport.sendto(reply.to_bytes(), addr)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        pass

    def error_received(self, exc: Exception) -> None:
        pass

    def methods(self) -> list[str]:
        return [m.method or str(m.status) for m in self.received]

    def one(self, method: str) -> SipMessage:
        [found] = [m for m in self.received if m.method == method]
        return found


def ok_with(body: bytes, tag: str = "dev1") -> Script:
    def script(device: Device, msg: SipMessage) -> list[SipMessage]:
        if msg.method == "INVITE":
            ok = response_to(msg, 200, to_tag=tag)
            ok.add("Contact", f"<sip:{CHANNEL}@127.0.0.1:5999>")
            ok.add("Content-Type", "application/sdp")
            ok.body = body
            return [response_to(msg, 100), ok]
        if msg.method == "BYE":
            return [response_to(msg, 200)]
        return []

    return script


async def with_media(
    script: Script,
    body: Callable[[DeviceMedia, Device], Awaitable[None]],
    channel_known: bool = True,
    online: bool = True,
) -> Device:
    loop = asyncio.get_running_loop()
    device = Device(script)
    dev_transport, _ = await loop.create_datagram_endpoint(
        lambda: device, local_addr=("127.0.0.1", 0)
    )
    dev_port = dev_transport.get_extra_info("sockname")[1]
    media: DeviceMedia

    def handle(msg: SipMessage, peer: Peer) -> SipMessage | None:
        if not msg.is_request:
            media.on_response(msg)
            return None
        if msg.method == "BYE":
            return media.on_bye(msg)
        return None

    endpoint = SipEndpoint(handle)
    await endpoint.start("127.0.0.1", 0, udp=True, tcp=False)
    media = DeviceMedia(
        endpoint,
        LocalParty(PLATFORM, DOMAIN, "127.0.0.1"),
        lambda d: Peer("127.0.0.1", dev_port, "UDP") if online and d == DEVICE else None,
        lambda d, c: channel_known and (d, c) == (DEVICE, CHANNEL),
    )
    try:
        await body(media, device)
    finally:
        media.close()
        await endpoint.close()
        dev_transport.close()
    return device


def test_a_200_ok_is_acked_and_answers_with_the_devices_ssrc_and_address() -> None:
    got: list[MediaAnswer] = []

    async def body(media: DeviceMedia, device: Device) -> None:
        got.append(await media.invite(OFFER, 2.0))
        await asyncio.sleep(0.1)

    device = asyncio.run(with_media(ok_with(answer_sdp()), body))
    [answer] = got
    assert (answer.ssrc, answer.ip, answer.port, answer.transport) == (
        "0100000099",
        "127.0.0.1",
        15060,
        "udp",
    )
    invite = device.one("INVITE")
    assert invite.uri is not None and invite.uri.startswith(f"sip:{CHANNEL}@127.0.0.1:")
    ours = gb_sdp.parse(invite.body)
    assert invite.get("Subject") == f"{CHANNEL}:{ours.ssrc},{PLATFORM}:0"
    assert ours.ssrc == "0200000001"  # live, the domain's digits 4-8, counter 1
    assert (ours.session, ours.direction, ours.port, ours.ip) == (
        "Play",
        "recvonly",
        40000,
        "127.0.0.1",
    )
    assert invite.get("Content-Type") == "application/sdp"
    ack = device.one("ACK")
    assert ack.call_id == answer.call_id == invite.call_id
    assert ack.get("To") is not None and "tag=dev1" in (ack.get("To") or "")
    assert ack.cseq == (invite.cseq[0], "ACK") and ack.uri == f"sip:{CHANNEL}@127.0.0.1:5999"


def test_bye_is_sent_in_the_dialog_and_the_call_is_forgotten() -> None:
    async def body(media: DeviceMedia, device: Device) -> None:
        answer = await media.invite(OFFER, 2.0)
        media.bye(answer.call_id)
        media.bye(answer.call_id)  # idempotent
        await asyncio.sleep(0.2)
        assert media.dialogs == {}

    device = asyncio.run(with_media(ok_with(answer_sdp()), body))
    bye = device.one("BYE")
    invite = device.one("INVITE")
    assert bye.call_id == invite.call_id and "tag=dev1" in (bye.get("To") or "")
    assert bye.get("From") == invite.get("From") and bye.cseq[0] > invite.cseq[0]


def test_an_answer_without_y_means_our_ssrc_and_tcp_keeps_the_offered_role() -> None:
    got: list[MediaAnswer] = []
    offer = MediaOffer(DEVICE, CHANNEL, "127.0.0.1", 40000, "tcp-passive")

    async def body(media: DeviceMedia, device: Device) -> None:
        got.append(await media.invite(offer, 2.0))

    device = asyncio.run(with_media(ok_with(answer_sdp(None, "tcp-active")), body))
    sent = gb_sdp.parse(device.one("INVITE").body)
    assert sent.transport == "tcp-passive" and b"a=setup:passive" in device.one("INVITE").body
    assert got[0].ssrc == sent.ssrc and got[0].transport == "tcp-passive"


def test_udp_invite_is_resent_until_the_device_answers() -> None:
    def late(device: Device, msg: SipMessage) -> list[SipMessage]:
        if msg.method == "INVITE" and len(device.received) < 2:
            return []  # the first one is "lost"
        return ok_with(answer_sdp())(device, msg)

    async def body(media: DeviceMedia, device: Device) -> None:
        await media.invite(OFFER, 3.0)

    device = asyncio.run(with_media(late, body))
    invites = [m for m in device.received if m.method == "INVITE"]
    assert len(invites) == 2 and invites[0].to_bytes() == invites[1].to_bytes()


def test_a_busy_device_is_refused_with_its_status_and_the_486_is_acked() -> None:
    def busy(device: Device, msg: SipMessage) -> list[SipMessage]:
        return [response_to(msg, 486, "Busy Here")] if msg.method == "INVITE" else []

    async def body(media: DeviceMedia, device: Device) -> None:
        with pytest.raises(MediaRefused) as refused:
            await media.invite(OFFER, 2.0)
        assert refused.value.reason == "refused" and "486" in refused.value.detail
        await asyncio.sleep(0.1)

    device = asyncio.run(with_media(busy, body))
    ack, invite = device.one("ACK"), device.one("INVITE")
    assert ack.get("Via") == invite.get("Via") and ack.cseq == (invite.cseq[0], "ACK")


def test_no_final_answer_is_a_timeout_with_cancel_and_the_487_is_acked() -> None:
    def silent(device: Device, msg: SipMessage) -> list[SipMessage]:
        if msg.method == "INVITE":
            return [response_to(msg, 100)]
        if msg.method == "CANCEL":
            invite = device.one("INVITE")
            return [response_to(msg, 200), response_to(invite, 487, to_tag="dev9")]
        return []

    async def body(media: DeviceMedia, device: Device) -> None:
        with pytest.raises(MediaRefused) as refused:
            await media.invite(OFFER, 0.5)
        assert refused.value.reason == "timeout"
        await asyncio.sleep(0.2)

    device = asyncio.run(with_media(silent, body))
    assert device.methods() == ["INVITE", "CANCEL", "ACK"]  # provisional: no re-sends
    cancel, invite = device.one("CANCEL"), device.one("INVITE")
    assert cancel.get("Via") == invite.get("Via") and cancel.cseq == (invite.cseq[0], "CANCEL")


def test_a_200_after_the_timeout_is_acked_and_ended_with_bye() -> None:
    def slow(device: Device, msg: SipMessage) -> list[SipMessage]:
        if msg.method == "CANCEL":
            return [response_to(msg, 200), *ok_with(answer_sdp())(device, device.one("INVITE"))]
        if msg.method == "INVITE":
            return [response_to(msg, 100)]
        return ok_with(answer_sdp())(device, msg)

    async def body(media: DeviceMedia, device: Device) -> None:
        with pytest.raises(MediaRefused):
            await media.invite(OFFER, 0.3)
        await asyncio.sleep(0.3)
        assert media.dialogs == {}

    device = asyncio.run(with_media(slow, body))
    assert [m for m in device.methods() if m in ("ACK", "BYE")] == ["ACK", "BYE"]


@pytest.mark.parametrize(
    ("sdp", "field_name"),
    [
        (b"", "sdp"),
        (answer_sdp().replace(b"c=IN IP4 127.0.0.1", b"c=IN IP4 nowhere"), "sdp.c"),
        (answer_sdp().replace(b"y=0100000099", b"y=12"), "sdp.y"),
        (answer_sdp(transport="tcp-active"), "sdp.m"),
    ],
)
def test_an_unusable_sdp_is_a_bad_answer_naming_the_field_and_the_call_is_ended(
    sdp: bytes, field_name: str
) -> None:
    async def body(media: DeviceMedia, device: Device) -> None:
        with pytest.raises(MediaRefused) as refused:
            await media.invite(OFFER, 2.0)
        assert refused.value.reason == "bad_answer"
        assert refused.value.detail.startswith(f"{field_name}:"), refused.value.detail
        await asyncio.sleep(0.1)
        assert media.dialogs == {}

    device = asyncio.run(with_media(ok_with(sdp), body))
    assert [m for m in device.methods() if m in ("ACK", "BYE")] == ["ACK", "BYE"]


@pytest.mark.parametrize(
    ("online", "known", "reason"),
    [(False, True, "device_offline"), (True, False, "unknown_channel")],
)
def test_an_offline_device_or_unknown_channel_is_refused_without_sending(
    online: bool, known: bool, reason: str
) -> None:
    async def body(media: DeviceMedia, device: Device) -> None:
        with pytest.raises(MediaRefused) as refused:
            await media.invite(OFFER, 1.0)
        assert refused.value.reason == reason

    device = asyncio.run(with_media(ok_with(answer_sdp()), body, known, online))
    assert device.received == []


def test_a_bye_from_the_device_gets_200_and_ends_the_dialog() -> None:
    async def body(media: DeviceMedia, device: Device) -> None:
        answer = await media.invite(OFFER, 2.0)
        await asyncio.sleep(0.1)
        ack = device.one("ACK")
        bye = SipMessage(method="BYE", uri=f"sip:{PLATFORM}@127.0.0.1")
        for name in ("Via", "Call-ID"):
            bye.add(name, ack.get(name) or "")
        bye.add("From", ack.get("To") or "")
        bye.add("To", ack.get("From") or "")
        bye.add("CSeq", "7 BYE")
        stranger = SipMessage(method="BYE", uri=bye.uri, headers=list(bye.headers))
        stranger.set("From", (ack.get("To") or "").replace("tag=dev1", "tag=other"))
        assert media.on_bye(stranger).status == 481  # same Call-ID, not the device's tag
        assert answer.call_id in media.dialogs
        assert media.on_bye(bye).status == 200
        assert answer.call_id not in media.dialogs
        assert media.on_bye(bye).status == 481

    asyncio.run(with_media(ok_with(answer_sdp()), body))


def test_a_device_going_offline_ends_its_calls_with_bye() -> None:
    async def body(media: DeviceMedia, device: Device) -> None:
        await media.invite(OFFER, 2.0)
        media.end_device(DEVICE, "device offline")
        await asyncio.sleep(0.1)
        assert media.dialogs == {}

    device = asyncio.run(with_media(ok_with(answer_sdp()), body))
    assert "BYE" in device.methods()


def test_ssrcs_in_use_are_not_given_twice() -> None:
    async def body(media: DeviceMedia, device: Device) -> None:
        first = await media.invite(OFFER, 2.0)
        await media.invite(OFFER, 2.0)
        assert first.call_id in media.dialogs

    device = asyncio.run(with_media(ok_with(answer_sdp(None)), body))
    ssrcs = [gb_sdp.parse(m.body).ssrc for m in device.received if m.method == "INVITE"]
    assert ssrcs == ["0200000001", "0200000002"]
    assert invite_module.T1_S == 0.5
