"""The ``gb28181`` engine: records a GB/T 28181 channel (``gb28181://<device>/<channel>``).

``start`` opens a media socket and a loopback listener, asks the SIP server (through
:class:`~custos.domain.gb_media.MediaSignalling`) to INVITE the device to send there, and starts
the configured engine on ``tcp://127.0.0.1:<loopback>`` with the ``mpeg`` demuxer; the relay
(:mod:`custos.recorder.engines.gb_relay`) feeds it the device's program stream. Sealing, gaps,
the watchdog and backoff stay the camera worker's. A refused INVITE is a session that has
already ended, its reason said in the run's log (``adapters.media.ffmpeg_segmenter``'s table
classifies it). See docs/design/gb28181.md, "Receiving: RTP → PS → the engine".
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import socket
import threading
from collections.abc import Iterator

from custos.adapters.media.ffmpeg_segmenter import ListedSegment
from custos.domain.gb_media import GbSource, MediaAnswer, MediaOffer, MediaRefused, MediaSignalling
from custos.domain.gb_sdp import Transport
from custos.recorder.engines.gb_relay import MediaRelay, RelayChannel
from custos.recorder.port import OnOutput, RecordingEngine, RecordingSession, SessionRequest
from custos.recorder.run_state import RunState

log = logging.getLogger(__name__)

INVITE_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 3.0  # tcp-active: connecting to the device's media port
BYE_WAIT_S = 5.0
UDP_RECEIVE_BUFFER = 4 * 1024 * 1024
REFUSED_EXIT = 1

#: What the run's log says for each refusal; ``ffmpeg_segmenter._REASONS`` classifies these.
REFUSAL_LINES = {
    "device_offline": "GB/T 28181: device offline",
    "timeout": "GB/T 28181: no answer to the INVITE",
    "no_signalling": "GB/T 28181: no SIP server to ask",
    "unknown_channel": "GB/T 28181: unknown channel",
    "refused": "GB/T 28181: INVITE refused",
    "bad_answer": "GB/T 28181: unusable answer",
}


class EndedSession:
    """A session that never started (the INVITE was refused): already exited."""

    def poll(self) -> int | None:
        return REFUSED_EXIT

    def terminate(self) -> None:
        pass

    def kill(self) -> None:
        pass

    def listed(self) -> Iterator[ListedSegment]:
        return iter(())

    def wait(self) -> None:
        pass


class GbSession:
    """The inner engine's session, with the call and the relay channel around it."""

    def __init__(
        self,
        inner: RecordingSession,
        channel: RelayChannel,
        relay: MediaRelay,
        signalling: MediaSignalling,
        answer: MediaAnswer,
        run: RunState,
    ) -> None:
        self._inner = inner
        self._channel = channel
        self._relay = relay
        self._signalling = signalling
        self._call_id = answer.call_id
        self._run = run
        self._lock = threading.Lock()
        self._bye: threading.Thread | None = None
        self._finished = False

    def poll(self) -> int | None:
        return self._inner.poll()

    def terminate(self) -> None:
        """BYE, and close the relay's connection: the demuxer ends and the segment is closed."""
        self._hang_up()
        self._relay.end(self._channel, drain=True)
        self._inner.terminate()

    def kill(self) -> None:
        self._hang_up()
        self._relay.end(self._channel, drain=False)
        self._inner.kill()

    def listed(self) -> Iterator[ListedSegment]:
        return self._inner.listed()

    def wait(self) -> None:
        self._inner.wait()
        self._hang_up()
        self._relay.end(self._channel, drain=False)
        self._channel.ended.wait(BYE_WAIT_S)
        with self._lock:
            bye, finished, self._finished = self._bye, self._finished, True
        if bye is not None:
            bye.join(BYE_WAIT_S)
        if not finished:
            summary = self._channel.summary()
            log.info("%s: call %s ended; %s", self._channel.name, self._call_id, summary)
            self._run.said(summary)

    def _hang_up(self) -> None:
        """BYE once, on a thread of its own: the watchdog's tick must not wait for the SIP
        server."""
        with self._lock:
            if self._bye is not None:
                return
            self._bye = threading.Thread(target=self._send_bye, name="gb-bye", daemon=True)
            self._bye.start()

    def _send_bye(self) -> None:
        try:
            self._signalling.bye(self._call_id)
        except (OSError, MediaRefused) as e:
            log.warning("%s: BYE for call %s failed: %s", self._channel.name, self._call_id, e)


class GbEngine:
    name = "gb28181"

    def __init__(
        self,
        inner: RecordingEngine,
        signalling: MediaSignalling,
        media_host: str,
        ports: range | None = None,
        invite_timeout_s: float = INVITE_TIMEOUT_S,
    ) -> None:
        if ports is not None and (not ports or ports.start < 1 or ports.stop > 65536):
            raise ValueError("media ports must be a non-empty range within 1..65535")
        if not 0.5 <= invite_timeout_s <= 60:
            raise ValueError("invite_timeout_s 0.5..60")
        socket.inet_aton(media_host)  # an IPv4 address, or OSError
        self._inner = inner
        self._signalling = signalling
        self._media_host = media_host
        self._ports = ports
        self._next_port = itertools.count()
        self._port_lock = threading.Lock()
        self._invite_timeout_s = invite_timeout_s
        self._relay = MediaRelay()

    def start(
        self, request: SessionRequest, run: RunState, on_output: OnOutput
    ) -> RecordingSession:
        source = GbSource.parse(request.source)
        name = f"camera {request.camera_id} (GB/T 28181 {source.channel_id})"
        try:
            media, port = self._media_socket(source.transport)
        except OSError as e:
            return _ended(run, name, f"GB/T 28181: no media port: {e}")
        with contextlib.ExitStack() as unwind:
            unwind.callback(media.close)
            loopback = _listener("127.0.0.1", 0)
            unwind.callback(loopback.close)
            answer = self._invite(source, port, run, name)
            if answer is None:
                return _ended(run, name, None)
            if source.transport == "tcp-active":
                try:
                    media.settimeout(CONNECT_TIMEOUT_S)
                    media.connect((answer.ip, answer.port))
                except OSError as e:
                    self._send_bye(answer.call_id, name)
                    text = e.strerror or str(e)
                    return _ended(run, name, f"GB/T 28181: media connection failed: {text}")
            session = self._record(request, run, on_output, answer, (media, loopback), name)
            unwind.pop_all()
            return session

    def _send_bye(self, call_id: str, name: str) -> None:
        try:
            self._signalling.bye(call_id)
        except (OSError, MediaRefused) as e:
            log.warning("%s: BYE for call %s failed: %s", name, call_id, e)

    def _record(
        self,
        request: SessionRequest,
        run: RunState,
        on_output: OnOutput,
        answer: MediaAnswer,
        sockets: tuple[socket.socket, socket.socket],
        name: str,
    ) -> RecordingSession:
        """Relay the answered stream to a loopback port, and record that with the inner engine."""
        media, loopback = sockets
        ssrc = int(answer.ssrc) & 0xFFFFFFFF
        transport = GbSource.parse(request.source).transport
        channel = RelayChannel(name, transport, media, loopback, ssrc, run.said)
        self._relay.add(channel)
        inner_request = SessionRequest(
            camera_id=request.camera_id,
            source=f"tcp://127.0.0.1:{channel.loopback_port}",
            run_dir=request.run_dir,
            segment_seconds=request.segment_seconds,
            io_timeout_s=request.io_timeout_s,
            input_format="mpeg",
            live_socket=request.live_socket,
        )
        try:
            inner = self._inner.start(inner_request, run, on_output)
        except BaseException:
            self._relay.end(channel, drain=False)
            self._send_bye(answer.call_id, name)
            raise
        return GbSession(inner, channel, self._relay, self._signalling, answer, run)

    def _invite(self, source: GbSource, port: int, run: RunState, name: str) -> MediaAnswer | None:
        offer = MediaOffer(
            source.device_id, source.channel_id, self._media_host, port, source.transport
        )
        try:
            answer = self._signalling.invite(offer, self._invite_timeout_s)
        except MediaRefused as e:
            reason, detail = e.reason, e.detail
        except OSError as e:  # the control socket failed under us
            reason, detail = "no_signalling", str(e)
        else:
            log.info("%s: INVITE answered, call %s, SSRC %s", name, answer.call_id, answer.ssrc)
            return answer
        line = REFUSAL_LINES.get(reason, REFUSAL_LINES["refused"])
        said = f"{line}: {detail}" if detail else line
        log.info("%s: %s", name, said)
        run.said(said)
        return None

    def _media_socket(self, transport: Transport) -> tuple[socket.socket, int]:
        """A socket bound on the media host: on a port of the range, else an ephemeral one."""
        candidates: list[int] = [0]
        if self._ports is not None:
            with self._port_lock:
                first = next(self._next_port) % len(self._ports)
            candidates = [
                self._ports[(first + i) % len(self._ports)] for i in range(len(self._ports))
            ]
        for port in candidates:
            try:
                return _bound(transport, self._media_host, port)
            except OSError:
                continue
        raise OSError(f"no free media port in {self._ports}")

    def close(self) -> None:
        self._relay.close()


def _ended(run: RunState, name: str, said: str | None) -> EndedSession:
    """A run that ends before any engine started; ``said`` goes into its log."""
    if said is not None:
        log.info("%s: %s", name, said)
        run.said(said)
    run.mark_exited()
    return EndedSession()


def _bound(transport: Transport, host: str, port: int) -> tuple[socket.socket, int]:
    if transport == "udp":
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
    elif transport == "tcp-passive":
        sock = _listener(host, port)
        return sock, sock.getsockname()[1]
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    bound: int = sock.getsockname()[1]
    return sock, bound


def _listener(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past connections' TIME_WAIT
        sock.bind((host, port))
        sock.listen(2)
    except OSError:
        sock.close()
        raise
    return sock
