"""Prometheus metrics of the recorder, served on its own port (loopback by default)."""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from custos.domain.recording import CameraHealth, RecorderState


class RecorderMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.up = Gauge(
            "custos_camera_recording",
            "1 while the camera is being recorded",
            ["camera_id"],
            registry=self.registry,
        )
        self.fps = Gauge(
            "custos_camera_fps", "frames per second received", ["camera_id"], registry=self.registry
        )
        self.bitrate = Gauge(
            "custos_camera_bitrate_kbps",
            "bit rate of the last sealed segment",
            ["camera_id"],
            registry=self.registry,
        )
        self.sealed = Counter(
            "custos_segments_sealed", "segments sealed and indexed", registry=self.registry
        )
        self.cameras = Gauge(
            "custos_cameras_assigned", "cameras this recorder records", registry=self.registry
        )

    def serve(self, host: str, port: int) -> None:
        start_http_server(port, addr=host, registry=self.registry)

    def observe(self, board: list[CameraHealth], sealed_since_last: int) -> None:
        self.cameras.set(len(board))
        self.sealed.inc(sealed_since_last)
        for h in board:
            cam = str(h.camera_id)
            self.up.labels(cam).set(1 if h.state is RecorderState.RECORDING else 0)
            self.fps.labels(cam).set(h.fps or 0)
            self.bitrate.labels(cam).set(h.bitrate_kbps or 0)

    def forget(self, camera_id: int) -> None:
        for g in (self.up, self.fps, self.bitrate):
            with contextlib.suppress(KeyError):
                g.remove(str(camera_id))
