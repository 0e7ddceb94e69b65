"""RTP for GB/T 28181 media: packets, RFC 4571 framing, reordering, PS packetisation."""

from __future__ import annotations

import random
import struct

import pytest

from custos.adapters.media.rtp import (
    Deframer,
    PsPacketizer,
    ReorderBuffer,
    RtpError,
    RtpPacket,
    frame,
    pack_scr,
)

SSRC = 200000001


def packet(seq: int, ssrc: int = SSRC, payload: bytes | None = None) -> RtpPacket:
    return RtpPacket(seq % 65536, 0, ssrc, payload if payload is not None else seq.to_bytes(4))


def seqs(packets: list[RtpPacket]) -> list[int]:
    return [p.sequence for p in packets]


# ---- packets ---------------------------------------------------------------------------------


def test_a_built_packet_parses_back_to_itself() -> None:
    sent = RtpPacket(65535, 0xFFFFFFFF, SSRC, b"\x00\x00\x01\xba payload", marker=True)
    got = RtpPacket.parse(sent.build())
    assert got == sent
    assert got.payload == b"\x00\x00\x01\xba payload"


def test_csrcs_extension_and_padding_are_skipped() -> None:
    header = struct.pack("!BBHII", 0x80 | 0x20 | 0x10 | 2, 96, 7, 90000, SSRC)
    csrcs = struct.pack("!II", 1, 2)
    extension = struct.pack("!HH", 0xBEDE, 1) + b"\x01\x02\x03\x04"
    padding = b"\x00\x00\x03"
    got = RtpPacket.parse(header + csrcs + extension + b"PS!" + padding)
    assert (got.sequence, got.timestamp, got.ssrc, got.payload) == (7, 90000, SSRC, b"PS!")
    assert got.payload_type == 96 and not got.marker


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"\x80\x60\x00", "shorter than an RTP header"),
        (struct.pack("!BBHII", 0x40, 96, 1, 0, SSRC), "RTP version 1"),
        (struct.pack("!BBHII", 0x8F, 96, 1, 0, SSRC), "longer than the packet"),
        (struct.pack("!BBHII", 0x90, 96, 1, 0, SSRC) + b"\xbe", "extension cut short"),
        (struct.pack("!BBHII", 0xA0, 96, 1, 0, SSRC) + b"\x00", "padding of length 0"),
        (struct.pack("!BBHII", 0xA0, 96, 1, 0, SSRC) + b"\x20", "longer than the packet"),
    ],
)
def test_malformed_packets_are_refused_naming_why(data: bytes, says: str) -> None:
    with pytest.raises(RtpError, match=says):
        RtpPacket.parse(data)


# ---- RFC 4571 --------------------------------------------------------------------------------


def test_framed_packets_come_back_whole_however_the_stream_is_cut() -> None:
    packets = [RtpPacket(i, i * 3600, SSRC, bytes([i]) * (100 + 50 * i)).build() for i in range(6)]
    stream = b"".join(frame(p) for p in packets)
    for cut in (1, 2, 3, 7, 101, 1000):
        deframer = Deframer()
        got: list[bytes] = []
        for at in range(0, len(stream), cut):
            got += deframer.feed(stream[at : at + cut])
        assert got == packets, cut
        assert deframer.pending == 0 and deframer.garbage_bytes == 0


def test_garbage_between_frames_is_skipped_and_counted() -> None:
    good = RtpPacket(1, 0, SSRC, b"x" * 20).build()
    deframer = Deframer()
    got = deframer.feed(frame(good) + b"\x00\x00\x00\x05junk" + frame(good))
    assert got == [good, good]
    assert deframer.garbage_bytes == 8


def test_a_packet_too_small_or_too_large_cannot_be_framed() -> None:
    with pytest.raises(RtpError):
        frame(b"short")
    with pytest.raises(RtpError):
        frame(b"\x80" * 65536)


# ---- reordering ------------------------------------------------------------------------------


def test_packets_in_order_pass_at_once() -> None:
    buffer = ReorderBuffer(SSRC)
    out = [p for seq in range(10) for p in buffer.push(packet(seq), now=0.0)]
    assert seqs(out) == list(range(10))
    assert buffer.stats.received == 10 and buffer.stats.lost == 0 and buffer.held == 0


def test_swapped_packets_come_out_in_order_and_are_counted_reordered() -> None:
    buffer = ReorderBuffer(SSRC)
    out: list[RtpPacket] = []
    for seq in (0, 2, 1, 4, 3, 5):
        out += buffer.push(packet(seq), now=0.0)
    assert seqs(out) == [0, 1, 2, 3, 4, 5]
    assert buffer.stats.reordered == 2 and buffer.stats.lost == 0


def test_order_holds_across_the_wrap_at_65535() -> None:
    buffer = ReorderBuffer(SSRC)
    out: list[RtpPacket] = []
    for seq in (65533, 65534, 0, 65535, 2, 1):
        out += buffer.push(packet(seq), now=0.0)
    assert seqs(out) == [65533, 65534, 65535, 0, 1, 2]
    assert buffer.stats.lost == 0


def test_a_hole_is_given_up_after_200_ms_and_counted_lost() -> None:
    buffer = ReorderBuffer(SSRC)
    assert seqs(buffer.push(packet(10), now=1.0)) == [10]
    assert buffer.push(packet(13), now=1.0) == []
    assert buffer.push(packet(14), now=1.1) == []
    assert buffer.release(now=1.19) == []
    assert seqs(buffer.release(now=1.21)) == [13, 14]
    assert buffer.stats.lost == 2
    assert buffer.push(packet(11), now=1.3) == []  # too late: its place was given up
    assert buffer.stats.late == 1


def test_a_hole_is_given_up_when_64_packets_wait_behind_it() -> None:
    buffer = ReorderBuffer(SSRC)
    buffer.push(packet(65535), now=0.0)
    out: list[RtpPacket] = []
    for seq in range(1, 64):
        out += buffer.push(packet(seq), now=0.0)
    assert out == [] and buffer.held == 63
    out = buffer.push(packet(64), now=0.0)
    assert seqs(out) == list(range(1, 65))
    assert buffer.stats.lost == 1 and buffer.held == 0


def test_duplicates_are_dropped_and_counted() -> None:
    buffer = ReorderBuffer(SSRC)
    out: list[RtpPacket] = []
    for seq in (0, 2, 2, 1, 1, 0):
        out += buffer.push(packet(seq), now=0.0)
    assert seqs(out) == [0, 1, 2]
    assert buffer.stats.duplicates == 1  # the 2 held twice
    assert buffer.stats.late == 2  # 1 and 0 again, after they were released


def test_another_ssrc_is_dropped_and_counted() -> None:
    buffer = ReorderBuffer(SSRC)
    assert buffer.push(packet(0, ssrc=SSRC + 1), now=0.0) == []
    assert seqs(buffer.push(packet(5), now=0.0)) == [5]
    assert buffer.push(packet(6, ssrc=1), now=0.0) == []
    assert buffer.stats.wrong_ssrc == 2 and buffer.stats.received == 1


def test_a_sender_that_restarts_its_numbering_is_followed() -> None:
    buffer = ReorderBuffer(SSRC, max_packets=8)
    for seq in range(40000, 40010):
        buffer.push(packet(seq), now=0.0)
    out: list[RtpPacket] = []
    for seq in range(30000, 30010):  # behind 40010
        out += buffer.push(packet(seq), now=0.0)
    assert seqs(out) == list(range(30007, 30010))
    assert buffer.stats.late == 7


def test_flush_releases_all_held_counting_the_holes() -> None:
    buffer = ReorderBuffer(SSRC)
    buffer.push(packet(1), now=0.0)
    buffer.push(packet(4), now=0.0)
    buffer.push(packet(7), now=0.0)
    assert seqs(buffer.flush()) == [4, 7]
    assert buffer.stats.lost == 4


def test_taking_the_next_packet_cheaply_does_just_what_push_does() -> None:
    """The relay's fast path (``take_in_order``, else ``push``) against ``push`` alone, on a
    stream with swaps, duplicates, losses, another SSRC, a wrap and a restart of the numbers."""
    rng = random.Random(28181)
    events: list[tuple[int, int, float]] = []
    seq, now = 65000, 0.0
    for n in range(3000):
        now += 0.002 if n % 500 else 0.3  # now and then a pause past the hole's wait
        if n == 2000:
            seq -= 30000  # the sender renumbers, behind
        roll = rng.random()
        if roll < 0.01:
            events += [((seq + 1) % 65536, SSRC, now), (seq, SSRC, now)]  # swapped
            seq += 2
        elif roll < 0.02:
            events += [(seq, SSRC, now), (seq, SSRC, now)]  # duplicated
            seq += 1
        elif roll < 0.025:
            seq += 1 + rng.randrange(3)  # lost
        elif roll < 0.035:
            events.append((rng.randrange(65536), SSRC + 1, now))  # another source
        else:
            events.append((seq % 65536, SSRC, now))
            seq += 1
        seq %= 65536
    plain, quick = ReorderBuffer(SSRC), ReorderBuffer(SSRC)
    out_plain: list[int] = []
    out_quick: list[int] = []
    cheap = 0
    for seq, ssrc, now in events:
        out_plain += seqs(plain.push(packet(seq, ssrc), now))
        if quick.take_in_order(ssrc, seq):
            out_quick.append(seq)
            cheap += 1
        else:
            out_quick += seqs(quick.push(packet(seq, ssrc), now))
    assert out_quick == out_plain
    assert quick.stats == plain.stats and quick.held == plain.held
    assert quick.stats.lost and quick.stats.reordered and quick.stats.late
    assert cheap > 0.5 * quick.stats.received  # most go the cheap way


# ---- PS packetisation ------------------------------------------------------------------------


def mpeg2_pack(scr: int, body: bytes) -> bytes:
    bits = (
        0b01 << 46
        | ((scr >> 30) & 7) << 43
        | 1 << 42
        | ((scr >> 15) & 0x7FFF) << 27
        | 1 << 26
        | (scr & 0x7FFF) << 11
        | 1 << 10
        | 1
    )
    return b"\x00\x00\x01\xba" + bits.to_bytes(6) + b"\x01\x89\xc3\xf8" + body


def mpeg1_pack(scr: int, body: bytes) -> bytes:
    bits = (
        0b0010 << 36
        | ((scr >> 30) & 7) << 33
        | 1 << 32
        | ((scr >> 15) & 0x7FFF) << 17
        | 1 << 16
        | (scr & 0x7FFF) << 1
        | 1
    )
    return b"\x00\x00\x01\xba" + bits.to_bytes(5) + b"\x80\x01\x01" + body


def test_the_scr_of_mpeg2_and_mpeg1_pack_headers() -> None:
    scr = (1 << 32) + 123456789
    assert pack_scr(mpeg2_pack(scr, b"")) == scr
    assert pack_scr(mpeg1_pack(scr, b"")) == scr
    assert pack_scr(b"\x00\x00\x01\xbb" + b"\x00" * 10) is None


def test_packs_become_rtp_packets_and_come_back_byte_for_byte() -> None:
    packs = [mpeg2_pack(3600 * i, bytes([i]) * (500 + 1000 * i)) for i in range(5)]
    stream = b"garbage before" + b"".join(packs)
    packetizer = PsPacketizer(SSRC, first_sequence=65530)
    sent: list[bytes] = []
    for at in range(0, len(stream), 777):
        sent += packetizer.feed(stream[at : at + 777])
    sent += packetizer.flush()
    packets = [RtpPacket.parse(p) for p in sent]
    assert all(len(p.payload) <= 1400 and p.ssrc == SSRC and p.payload_type == 96 for p in packets)
    assert b"".join(p.payload for p in packets) == b"".join(packs)
    assert seqs(packets) == [(65530 + i) % 65536 for i in range(len(packets))]
    ends = [p for p in packets if p.marker]
    assert len(ends) == len(packs)
    assert [p.timestamp for p in ends] == [3600 * i for i in range(5)]
    # every packet of a pack carries its SCR, the marker only its last
    first_pack = packets[: next(i for i, p in enumerate(packets) if p.marker) + 1]
    assert {p.timestamp for p in first_pack} == {0}


def test_packetized_stream_survives_framing_shuffling_and_reordering() -> None:
    packs = [mpeg1_pack(3600 * i, bytes([i]) * 3000) for i in range(20)]
    packetizer = PsPacketizer(SSRC, first_sequence=65500)
    sent = [p for pack in packs for p in packetizer.feed(pack)] + packetizer.flush()
    shuffled = list(sent)
    for i in range(1, len(shuffled) - 1, 5):  # the first packet sets where the stream starts
        shuffled[i], shuffled[i + 1] = shuffled[i + 1], shuffled[i]
    deframer, buffer = Deframer(), ReorderBuffer(SSRC)
    stream = b"".join(frame(p) for p in shuffled)
    out: list[RtpPacket] = []
    for at in range(0, len(stream), 999):
        for data in deframer.feed(stream[at : at + 999]):
            out += buffer.push(RtpPacket.parse(data), now=0.0)
    assert b"".join(p.payload for p in out) == b"".join(packs)
    assert buffer.stats.lost == 0 and buffer.stats.reordered > 0
