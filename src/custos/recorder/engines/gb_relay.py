"""The GB/T 28181 media relay: one thread (``selectors``) for every GB session of the recorder.

Each :class:`RelayChannel` has a media socket (UDP; or TCP — a listener the device connects to,
or a connection we made to it), and a loopback TCP listener that the recording engine connects
to (``tcp://127.0.0.1:<port>``, demuxer ``mpeg``). RTP packets of the answered SSRC are put back
in order and their payloads — the device's MPEG program stream — written to that connection.
Packets of another SSRC are dropped and counted. A reader that falls behind never holds up the
others: each channel buffers at most ``max_buffer`` bytes and drops (and counts) the rest.

Ending a channel (``end``) releases what the reorder buffer holds, writes what is buffered (for
at most a second), then closes the loopback connection: the demuxer sees the end of its stream
and the engine finishes the segment in flight.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from custos.adapters.media.rtp import HEADER_BYTES, Deframer, ReorderBuffer, RtpError, RtpPacket
from custos.domain.gb_sdp import Transport

log = logging.getLogger(__name__)

MAX_BUFFER_BYTES = 8 * 1024 * 1024  # ≈ 8 s of a 8 Mbit/s stream waiting for a slow reader
DRAIN_S = 1.0  # how long an ended channel may take to write what it holds
TICK_S = 0.05  # how often held packets are looked at when nothing arrives
PASS_S = 0.01  # the shortest pass: what arrives within it is relayed together
WARN_EVERY_S = 60.0
DATAGRAMS_PER_WAKE = 256
RECV_BYTES = 65536
WRITE_BYTES = 256 * 1024
PLAIN_RTP = 0x80  # version 2; no padding, header extension or CSRC
_SEQUENCE_SSRC = struct.Struct("!2xH4xI")

Said = Callable[[str], None]


@dataclass
class RelayStats:
    malformed: int = 0  # datagrams or frames that are not RTP
    overflow_bytes: int = 0  # dropped because the reader was too slow
    written_bytes: int = 0


class RelayChannel:
    """One GB media session's sockets and state; used only on the relay's thread once added."""

    def __init__(
        self,
        name: str,
        transport: Transport,
        media: socket.socket,
        loopback: socket.socket,
        ssrc: int,
        said: Said,
        max_buffer: int = MAX_BUFFER_BYTES,
    ) -> None:
        if not 64 * 1024 <= max_buffer <= 256 * 1024 * 1024:
            raise ValueError("max_buffer 64 KiB..256 MiB")
        self.name = name
        self.transport = transport
        self.media = media  # UDP socket; TCP listener (tcp-passive); TCP connection (tcp-active)
        self.loopback = loopback
        self.reorder = ReorderBuffer(ssrc)
        self.stats = RelayStats()
        self.said = said
        self.ended = threading.Event()
        self.max_buffer = max_buffer
        self.media_conn: socket.socket | None = media if transport == "tcp-active" else None
        self.deframer = Deframer()
        self.reader: socket.socket | None = None  # the engine's connection to the loopback
        self.out = bytearray()
        self.closing_since: float | None = None
        self._warned: dict[str, float] = {}

    @property
    def loopback_port(self) -> int:
        port: int = self.loopback.getsockname()[1]
        return port

    def on_packet(self, data: bytes, now: float) -> None:
        if len(data) > HEADER_BYTES and data[0] == PLAIN_RTP:  # the common case, cheaply
            sequence, ssrc = _SEQUENCE_SSRC.unpack_from(data)
            if self.reorder.take_in_order(ssrc, sequence):
                self.queue_payload(memoryview(data)[HEADER_BYTES:])
                return
        try:
            packet = RtpPacket.parse(data)
        except RtpError as e:
            self.stats.malformed += 1
            self.warn("malformed", f"not RTP ({e}); dropped")
            return
        wrong = self.reorder.stats.wrong_ssrc
        released = self.reorder.push(packet, now)
        if self.reorder.stats.wrong_ssrc != wrong:
            self.warn(
                "ssrc",
                f"packets of SSRC {packet.ssrc:010d}, not {self.reorder.ssrc or 0:010d}, "
                f"dropped ({self.reorder.stats.wrong_ssrc} so far)",
            )
        self.queue(released)

    def queue(self, packets: list[RtpPacket]) -> None:
        for packet in packets:
            self.queue_payload(packet.payload)

    def queue_payload(self, payload: bytes | memoryview) -> None:
        if self.closing_since is not None and self.reader is None:
            return
        if len(self.out) + len(payload) > self.max_buffer:
            self.stats.overflow_bytes += len(payload)
            self.warn(
                "overflow",
                f"the recorder reads too slowly; dropped {self.stats.overflow_bytes} bytes so far",
            )
            return
        self.out += payload

    def warn(self, kind: str, text: str) -> None:
        """Log at most once a minute per kind and channel."""
        now = time.monotonic()
        if now - self._warned.get(kind, -WARN_EVERY_S) >= WARN_EVERY_S:
            self._warned[kind] = now
            log.warning("%s: %s", self.name, text)

    def summary(self) -> str:
        r, s = self.reorder.stats, self.stats
        return (
            f"GB/T 28181 media: {r.received} packets, {r.lost} lost, {r.reordered} reordered, "
            f"{r.duplicates + r.late} duplicate or late, {r.wrong_ssrc} of another SSRC, "
            f"{s.malformed} malformed, {s.overflow_bytes} bytes dropped for a slow reader"
        )


_Command = tuple[str, RelayChannel, bool]


class MediaRelay:
    """The one relay thread; started with the first channel, stopped by :meth:`close`."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._commands: deque[_Command] = deque()
        self._channels: set[RelayChannel] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def add(self, channel: RelayChannel) -> None:
        self._command("add", channel, False)

    def end(self, channel: RelayChannel, drain: bool = True) -> None:
        """Stop receiving; with ``drain``, write what is held first. Returns at once; the
        channel's ``ended`` event is set once its sockets are closed."""
        self._command("end", channel, drain)

    def close(self) -> None:
        with self._lock:
            self._stopping = True
            thread = self._thread
        self._wake()
        if thread is not None:
            thread.join(5)
        for channel in list(self._channels):
            self._close(channel)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _command(self, op: str, channel: RelayChannel, drain: bool) -> None:
        with self._lock:
            if self._stopping:
                raise RuntimeError("the media relay is closed")
            self._commands.append((op, channel, drain))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="gb-media-relay", daemon=True
                )
                self._thread.start()
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    # ---- the relay's thread ----------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stopping:
            started = time.monotonic()
            try:
                self._once()
            except Exception:  # the relay's boundary: one bad channel never stops the others
                log.exception("GB/T 28181 media relay")
                time.sleep(TICK_S)
            # Let packets gather: a pass per datagram would cost a wake, a failed recv and a
            # write each; the sockets' buffers hold 10 ms of any stream many times over.
            rest = PASS_S - (time.monotonic() - started)
            if rest > 0 and not self._stopping:
                time.sleep(rest)

    def _once(self) -> None:
        for key, mask in self._selector.select(TICK_S):
            if key.data is None:
                with contextlib.suppress(OSError):
                    self._wake_r.recv(4096)
                continue
            channel, role = key.data
            if channel in self._channels:
                self._event(channel, role, mask)
        self._run_commands()
        now = self._clock()
        for channel in list(self._channels):  # only those with something to do: cheap at 100s
            if channel.reorder.held:
                channel.queue(channel.reorder.release(now))
            if channel.out or channel.closing_since is not None:
                self._write(channel, now)

    def _run_commands(self) -> None:
        while True:
            with self._lock:
                if not self._commands:
                    return
                op, channel, drain = self._commands.popleft()
            if op == "add":
                self._open(channel)
            elif channel in self._channels:
                self._stop_receiving(channel)
                if not drain:
                    self._close(channel)
            else:
                channel.ended.set()

    def _open(self, channel: RelayChannel) -> None:
        for sock in (channel.media, channel.loopback):
            sock.setblocking(False)
        role = {"udp": "udp", "tcp-passive": "accept-media", "tcp-active": "tcp"}[channel.transport]
        self._selector.register(channel.media, selectors.EVENT_READ, (channel, role))
        self._selector.register(channel.loopback, selectors.EVENT_READ, (channel, "accept-reader"))
        self._channels.add(channel)

    def _event(self, channel: RelayChannel, role: str, mask: int) -> None:
        now = self._clock()
        if role == "udp":
            for _ in range(DATAGRAMS_PER_WAKE):
                try:
                    data = channel.media.recv(RECV_BYTES)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:  # an ICMP error from an earlier send; nothing to do
                    continue
                channel.on_packet(data, now)
        elif role == "accept-media":
            self._accept_media(channel)
        elif role == "tcp":
            self._read_tcp(channel, now)
        elif role == "accept-reader":
            self._accept_reader(channel)
        elif role == "reader":
            self._reader_event(channel, mask, now)

    def _accept_media(self, channel: RelayChannel) -> None:
        try:
            conn, _ = channel.media.accept()
        except OSError:
            return
        if channel.media_conn is not None:  # the device connected again: the newer one counts
            self._unregister(channel.media_conn)
            channel.media_conn.close()
            channel.deframer = Deframer()
        conn.setblocking(False)
        channel.media_conn = conn
        self._selector.register(conn, selectors.EVENT_READ, (channel, "tcp"))

    def _read_tcp(self, channel: RelayChannel, now: float) -> None:
        conn = channel.media_conn
        if conn is None:
            return
        try:
            data = conn.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            channel.said("GB/T 28181: the device closed the media connection")
            log.info("%s: the device closed the media connection", channel.name)
            self._stop_receiving(channel)
            return
        for packet in channel.deframer.feed(data):
            channel.on_packet(packet, now)

    def _accept_reader(self, channel: RelayChannel) -> None:
        try:
            conn, _ = channel.loopback.accept()
        except OSError:
            return
        if channel.reader is not None:  # only the engine connects; one connection
            conn.close()
            return
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        channel.reader = conn
        self._selector.register(conn, selectors.EVENT_READ, (channel, "reader"))

    def _reader_event(self, channel: RelayChannel, mask: int, now: float) -> None:
        reader = channel.reader
        if reader is None:
            return
        if mask & selectors.EVENT_READ:
            try:
                gone = reader.recv(4096) == b""
            except (BlockingIOError, InterruptedError):
                gone = False
            except OSError:
                gone = True
            if gone:  # the engine ended: nothing more to relay
                self._stop_receiving(channel)
                self._close(channel)
                return
        self._write(channel, now)

    def _write(self, channel: RelayChannel, now: float) -> None:
        reader = channel.reader
        if reader is not None and channel.out:
            try:
                sent = reader.send(memoryview(channel.out)[:WRITE_BYTES])
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self._close(channel)
                return
            del channel.out[:sent]
            channel.stats.written_bytes += sent
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if channel.out else 0)
            if self._selector.get_key(reader).events != events:
                self._selector.modify(reader, events, (channel, "reader"))
        if channel.closing_since is not None and (
            not channel.out or reader is None or now - channel.closing_since > DRAIN_S
        ):
            self._close(channel)

    def _stop_receiving(self, channel: RelayChannel) -> None:
        """No more media: release what is held; the channel closes once it is written."""
        if channel.closing_since is not None:
            return
        channel.closing_since = self._clock()
        channel.queue(channel.reorder.flush())
        for sock in (channel.media_conn, channel.media):
            if sock is not None:
                self._unregister(sock)
                sock.close()

    def _close(self, channel: RelayChannel) -> None:
        for sock in (channel.media_conn, channel.media, channel.reader, channel.loopback):
            if sock is not None:
                self._unregister(sock)
                if sock is channel.reader:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        self._channels.discard(channel)
        channel.ended.set()

    def _unregister(self, sock: socket.socket) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)
