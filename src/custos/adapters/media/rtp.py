"""RTP as GB/T 28181 media uses it: an MPEG program stream (PS) in RTP packets (RFC 3550), over
UDP or over TCP with RFC 4571's two-byte length before each packet.

- :class:`RtpPacket` parses and builds one packet (CSRCs and a header extension are skipped);
- :func:`frame` and :class:`Deframer` add and remove RFC 4571's framing, a stream fed in any cut;
- :class:`ReorderBuffer` puts packets back in sequence order (16-bit, wrapping), waiting a bounded
  time for a hole to fill before it counts the missing packets lost;
- :class:`PsPacketizer` cuts a PS byte stream into RTP packets for a sender, one pack at a time.

See docs/design/gb28181.md, "Receiving: RTP → PS → the engine".
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from custos.adapters.media.ps_map import PsmInserter

RTP_VERSION = 2
HEADER_BYTES = 12
#: GB/T 28181's dynamic payload type for PS (``a=rtpmap:96 PS/90000``).
PS_PAYLOAD_TYPE = 96
MAX_PAYLOAD = 1400
SEQ_MOD = 1 << 16
_HALF = SEQ_MOD // 2
PACK_START = b"\x00\x00\x01\xba"


class RtpError(ValueError):
    """Bytes that are not an RTP packet (the reason says which field)."""


@dataclass(frozen=True)
class RtpPacket:
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = field(repr=False)
    payload_type: int = PS_PAYLOAD_TYPE
    marker: bool = False

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        if len(data) < HEADER_BYTES:
            raise RtpError(f"shorter than an RTP header ({len(data)} bytes)")
        first, second, sequence, timestamp, ssrc = struct.unpack_from("!BBHII", data)
        if first >> 6 != RTP_VERSION:
            raise RtpError(f"RTP version {first >> 6}, not 2")
        start = HEADER_BYTES + 4 * (first & 0x0F)
        if first & 0x10:  # a header extension: 16-bit profile, 16-bit length in words
            if len(data) < start + 4:
                raise RtpError("header extension cut short")
            (words,) = struct.unpack_from("!H", data, start + 2)
            start += 4 + 4 * words
        end = len(data)
        if first & 0x20:  # padding: its length is the last byte
            if end == 0 or data[-1] == 0:
                raise RtpError("padding of length 0")
            end -= data[-1]
        if start > end:
            raise RtpError("header (CSRCs, extension, padding) longer than the packet")
        return cls(
            sequence=sequence,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=bytes(data[start:end]),
            payload_type=second & 0x7F,
            marker=bool(second & 0x80),
        )

    def build(self) -> bytes:
        if not 0 <= self.payload_type <= 127:
            raise RtpError("payload type outside 0..127")
        second = self.payload_type | (0x80 if self.marker else 0)
        header = struct.pack(
            "!BBHII",
            RTP_VERSION << 6,
            second,
            self.sequence % SEQ_MOD,
            self.timestamp & 0xFFFFFFFF,
            self.ssrc & 0xFFFFFFFF,
        )
        return header + self.payload


# ---- RFC 4571 --------------------------------------------------------------------------------


def frame(packet: bytes) -> bytes:
    """One packet with RFC 4571's two-byte, big-endian length before it."""
    if not HEADER_BYTES <= len(packet) < SEQ_MOD:
        raise RtpError(f"an RTP packet of {len(packet)} bytes cannot be framed")
    return struct.pack("!H", len(packet)) + packet


class Deframer:
    """RFC 4571 on a byte stream: feed what the socket gave, get the whole packets so far.

    A length that cannot be an RTP packet's (under 12 bytes) or a frame that does not start like
    one (version 2) is garbage: the deframer skips a byte at a time until both fit again and
    counts the bytes skipped in :attr:`garbage_bytes`.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.garbage_bytes = 0

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        packets: list[bytes] = []
        buf = self._buffer
        at = 0
        while len(buf) - at >= 3:
            length = (buf[at] << 8) | buf[at + 1]
            if length < HEADER_BYTES or buf[at + 2] >> 6 != RTP_VERSION:
                at += 1
                self.garbage_bytes += 1
                continue
            if len(buf) - at < 2 + length:
                break
            packets.append(bytes(buf[at + 2 : at + 2 + length]))
            at += 2 + length
        del buf[:at]
        return packets

    @property
    def pending(self) -> int:
        """Bytes held for a packet not yet whole."""
        return len(self._buffer)


# ---- reordering ------------------------------------------------------------------------------


@dataclass
class RtpStats:
    received: int = 0  # packets of our SSRC, duplicates included
    lost: int = 0  # sequence numbers skipped after waiting for them
    reordered: int = 0  # arrived after a later one
    duplicates: int = 0  # a sequence number already held
    late: int = 0  # arrived after its place was released or given up as lost
    wrong_ssrc: int = 0  # another source's packets, dropped


class ReorderBuffer:
    """Releases the packets of one SSRC in sequence order.

    Holds at most ``max_packets`` packets or ``max_wait_s`` seconds (monotonic time, given by the
    caller); past either, the hole before the oldest held packet is counted lost and skipped.
    A packet behind what was released is dropped as late; a run of ``max_packets`` of them in a
    row means the sender restarted its numbering, and the buffer follows it.
    """

    def __init__(
        self, ssrc: int | None = None, max_packets: int = 64, max_wait_s: float = 0.2
    ) -> None:
        if not 1 <= max_packets <= 4096 or not 0 < max_wait_s <= 10:
            raise ValueError("max_packets 1..4096, max_wait_s (0, 10]")
        self.ssrc = ssrc
        self.max_packets = max_packets
        self.max_wait_s = max_wait_s
        self.stats = RtpStats()
        self._held: dict[int, tuple[RtpPacket, float]] = {}
        self._next: int | None = None
        self._highest = 0
        self._late_run = 0

    def push(self, packet: RtpPacket, now: float) -> list[RtpPacket]:
        """Take one packet; return those now in order (maybe none, maybe many)."""
        if self.ssrc is not None and packet.ssrc != self.ssrc:
            self.stats.wrong_ssrc += 1
            return []
        self.stats.received += 1
        seq = packet.sequence
        if self._next is None:
            self._next = self._highest = seq
        ahead = (seq - self._next) % SEQ_MOD
        if ahead >= _HALF:
            return self._behind(packet, now)
        self._late_run = 0
        if seq in self._held:
            self.stats.duplicates += 1
            return []
        if (seq - self._highest) % SEQ_MOD >= _HALF:
            self.stats.reordered += 1
        else:
            self._highest = seq
        self._held[seq] = (packet, now)
        return self.release(now)

    def take_in_order(self, ssrc: int, sequence: int) -> bool:
        """The common case, without a packet built: the one expected next, of our SSRC, while
        nothing is held. True: counted and released as :meth:`push` would (the caller passes its
        payload on); False: nothing done, :meth:`push` decides."""
        if self._held or sequence != self._next or (self.ssrc is not None and ssrc != self.ssrc):
            return False
        self.stats.received += 1
        self._late_run = 0
        if (sequence - self._highest) % SEQ_MOD >= _HALF:
            self.stats.reordered += 1
        else:
            self._highest = sequence
        self._next = (sequence + 1) % SEQ_MOD
        return True

    def _behind(self, packet: RtpPacket, now: float) -> list[RtpPacket]:
        self._late_run += 1
        if self._late_run < self.max_packets:
            self.stats.late += 1
            return []
        released = self.flush()  # the sender started again from other numbers
        self._next = self._highest = packet.sequence
        self._late_run = 0
        self._held[packet.sequence] = (packet, now)
        return released + self.release(now)

    def release(self, now: float) -> list[RtpPacket]:
        """The packets in order from the next expected one; past the limits, skip the hole.
        Call it also when nothing arrives, so that a held packet never waits too long."""
        out: list[RtpPacket] = []
        while self._held:
            taken = self._held.pop(self._expected(), None)
            if taken is not None:
                out.append(taken[0])
                self._next = (taken[0].sequence + 1) % SEQ_MOD
                continue
            oldest = min(arrived for _, arrived in self._held.values())
            if len(self._held) < self.max_packets and now - oldest < self.max_wait_s:
                break
            self._skip_to_first_held()
        return out

    def _expected(self) -> int:
        assert self._next is not None  # set by the first packet, before anything is held
        return self._next

    def _skip_to_first_held(self) -> int:
        expected = self._expected()
        first = min(self._held, key=lambda s: (s - expected) % SEQ_MOD)
        self.stats.lost += (first - expected) % SEQ_MOD
        self._next = first
        return first

    def flush(self) -> list[RtpPacket]:
        """Everything held, in order, holes counted lost (the stream ends)."""
        out: list[RtpPacket] = []
        while self._held:
            first = self._skip_to_first_held()
            out.append(self._held.pop(first)[0])
            self._next = (first + 1) % SEQ_MOD
        return out

    @property
    def held(self) -> int:
        return len(self._held)


# ---- PS into RTP, for senders ----------------------------------------------------------------


def pack_scr(pack: bytes) -> int | None:
    """The system clock reference (90 kHz base) of a PS pack header, MPEG-2 or MPEG-1."""
    if len(pack) < 12 or not pack.startswith(PACK_START):
        return None
    if pack[4] >> 6 == 0b01:  # MPEG-2: '01' SCR[32..30] m SCR[29..15] m SCR[14..0] m ext m
        bits = int.from_bytes(pack[4:10], "big")
        return ((bits >> 43) & 0x7) << 30 | ((bits >> 27) & 0x7FFF) << 15 | (bits >> 11) & 0x7FFF
    if pack[4] >> 4 == 0b0010:  # MPEG-1 (ffmpeg's -f mpeg): '0010' SCR[32..30] m … m … m
        bits = int.from_bytes(pack[4:9], "big")
        return ((bits >> 33) & 0x7) << 30 | ((bits >> 17) & 0x7FFF) << 15 | (bits >> 1) & 0x7FFF
    return None


class PsPacketizer:
    """An MPEG program stream in, RTP packets out: each pack (from one ``00 00 01 BA`` to the
    next) in payloads of at most ``max_payload`` bytes, the marker on its last packet, the
    timestamp its SCR (90 kHz), the given SSRC and payload type 96.

    Bytes before the first pack header are dropped. :meth:`flush` sends the last pack."""

    def __init__(
        self,
        ssrc: int,
        first_sequence: int = 0,
        max_payload: int = MAX_PAYLOAD,
        psm: PsmInserter | None = None,
    ) -> None:
        if not 0 <= ssrc <= 0xFFFFFFFF or not 64 <= max_payload <= 65000:
            raise ValueError("ssrc 0..2^32-1, max_payload 64..65000")
        self.ssrc = ssrc
        self._psm = psm  # a program stream map before each key frame, as GB/T 28181 wants
        self.max_payload = max_payload
        self._sequence = first_sequence % SEQ_MOD
        self._buffer = bytearray()
        self._timestamp = 0

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        packets: list[bytes] = []
        start = self._buffer.find(PACK_START)
        if start < 0:
            del self._buffer[: max(0, len(self._buffer) - 3)]
            return packets
        while True:
            end = self._buffer.find(PACK_START, start + 4)
            if end < 0:
                break
            packets += self._pack(bytes(self._buffer[start:end]))
            start = end
        del self._buffer[:start]
        return packets

    def flush(self) -> list[bytes]:
        if not self._buffer.startswith(PACK_START):
            self._buffer.clear()
            return []
        pack = bytes(self._buffer)
        self._buffer.clear()
        return self._pack(pack)

    def _pack(self, pack: bytes) -> list[bytes]:
        if self._psm is not None:
            pack = self._psm.process(pack)
        scr = pack_scr(pack)
        if scr is not None:
            self._timestamp = scr & 0xFFFFFFFF
        out: list[bytes] = []
        for at in range(0, len(pack), self.max_payload):
            chunk = pack[at : at + self.max_payload]
            last = at + self.max_payload >= len(pack)
            packet = RtpPacket(self._sequence, self._timestamp, self.ssrc, chunk, marker=last)
            out.append(packet.build())
            self._sequence = (self._sequence + 1) % SEQ_MOD
        return out
