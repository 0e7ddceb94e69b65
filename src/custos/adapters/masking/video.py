"""Masked re-encode: PyAV decode → detect and track (or a reviewed plan) → mask → libx264.

Two uses:
- :func:`propose` runs the detectors on a clip (every ``detect_every``-th frame, staggered per
  detector, the tracker between) and returns the tracks a reviewer checks;
- :func:`render` writes the masked copy from per-frame boxes (a reviewed proposal) plus static
  zones. :func:`mask_clip` does both in one pass (the bench, and unattended runs).
The source file is only read.

Both cores are used by a pipeline of threads: decoding (PyAV, frame-threaded) runs ahead in
one thread, detection (onnxruntime) in the caller's, masking and encoding (libx264) in a third;
PyAV, onnxruntime, OpenCV and x264 release the GIL in their work. In one pass a frame is masked
``detect_every - 1`` frames after it was decoded, so that a track that starts at a detector run
is also masked on the frames since that detector's previous run (the tracker's backfill).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

import av
import cv2

from custos.adapters.masking.detectors import Detector, Frame, input_size
from custos.domain.masking import (
    MAX_DETECT_EVERY,
    Box,
    BoxTracker,
    Detection,
    MaskMode,
    StaticZone,
    Track,
    TrackerSettings,
)

MAX_FRAMES = 25 * 3600  # one hour at 25 fps
QUEUED_FRAMES = 8  # decoded frames waiting for detection, masked ones waiting for the encoder
DETECT_WORKERS = 2  # detector runs at once (one per core; each has its own intra-op threads)


@dataclass(frozen=True, slots=True)
class EncodeSettings:
    crf: int = 23
    preset: str = "veryfast"
    threads: int = 2

    def __post_init__(self) -> None:
        if not 0 <= self.crf <= 51 or not 1 <= self.threads <= 16:
            raise ValueError("crf is 0..51 and threads 1..16")
        if self.preset not in {"ultrafast", "superfast", "veryfast", "faster", "fast", "medium"}:
            raise ValueError(f"unknown x264 preset {self.preset!r}")


@dataclass(slots=True)
class Proposal:
    width: int
    height: int
    fps: Fraction
    frames: int
    tracks: list[Track]
    detectors: list[dict[str, object]]
    detect_every: int
    seconds: float = 0.0


@dataclass(slots=True)
class Rendered:
    frames: int
    seconds: float
    boxes_masked: int
    detect_seconds: float = 0.0
    per_frame: list[list[Box]] = field(default_factory=list)


def mask_frame(frame: Frame, boxes: Sequence[Box], mode: MaskMode) -> int:
    """Mask ``boxes`` in place in an RGB frame; returns how many were masked."""
    height, width = frame.shape[:2]
    return sum(_mask_plane(frame, _clip(b, width, height), mode, 128) for b in boxes)


def mask_yuv420p(
    planar: Frame, width: int, height: int, boxes: Sequence[Box], mode: MaskMode
) -> int:
    """Mask ``boxes`` in place in a decoded yuv420p frame (``to_ndarray()``: Y rows, then U, V).

    Working on the planes avoids converting every frame to RGB and back (about 17 ms a 720p
    frame for the way back, measured), which is half the budget of 25 fps on two cores.
    """
    luma = planar[:height]
    quarter = (height // 2) * (width // 2)
    chroma = planar[height:].reshape(-1)
    u = chroma[:quarter].reshape(height // 2, width // 2)
    v = chroma[quarter : 2 * quarter].reshape(height // 2, width // 2)
    done = 0
    for box in boxes:
        clipped = _clip(box, width, height)
        if clipped is None:
            continue
        x0, y0, x1, y1 = clipped
        half = (x0 // 2, y0 // 2, max(x0 // 2 + 1, -(-x1 // 2)), max(y0 // 2 + 1, -(-y1 // 2)))
        done += _mask_plane(luma, clipped, mode, 128)
        _mask_plane(u, half, mode, 128)
        _mask_plane(v, half, mode, 128)
    return done


def _clip(box: Box, width: int, height: int) -> tuple[int, int, int, int] | None:
    x0, y0, x1, y1 = max(0, box.x0), max(0, box.y0), min(width, box.x1), min(height, box.y1)
    return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None


def _mask_plane(
    plane: Frame, rect: tuple[int, int, int, int] | None, mode: MaskMode, grey: int
) -> int:
    if rect is None:
        return 0
    x0, y0, x1, y1 = rect
    roi = plane[y0:y1, x0:x1]
    w, h = x1 - x0, y1 - y0
    if mode is MaskMode.FILL:
        roi[:] = grey
    elif mode is MaskMode.BLUR:
        k = max(3, (min(w, h) // 3) | 1)
        roi[:] = cv2.GaussianBlur(roi, (k, k), 0)
    else:
        block = max(4, min(w, h) // 6)
        small = cv2.resize(
            roi, (max(1, w // block), max(1, h // block)), interpolation=cv2.INTER_AREA
        )
        roi[:] = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    return 1


def _decoded(source: Path) -> Iterator[tuple[int, av.VideoFrame]]:
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for index, frame in enumerate(container.decode(stream)):
            if index >= MAX_FRAMES:
                raise ValueError(f"clip longer than {MAX_FRAMES} frames")
            yield index, frame


def frame_count(source: Path) -> int:
    """How many frames ``source`` has, as its container says (else duration × rate; 0 when
    unknown): the total a job's progress is counted against."""
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        if stream.frames:
            return int(stream.frames)
        rate = stream.average_rate or stream.guessed_rate
        if stream.duration is None or stream.time_base is None or not rate:
            return 0
        return int(stream.duration * stream.time_base * rate)


def probe(source: Path) -> tuple[int, int, Fraction]:
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        return stream.codec_context.width, stream.codec_context.height, Fraction(rate)


class _Detection:
    """Detectors staggered over ``detect_every`` frames, one tracker each.

    The runs go to a pool of :data:`DETECT_WORKERS` threads, so the runs of different detectors
    (on different frames) overlap; their results are given to the trackers in frame order. At
    most ``detect_every - 1`` frames wait for runs, so the runs of a detector do not pile up.
    """

    def __init__(
        self, detectors: Sequence[Detector], every: int, tracking: TrackerSettings, w: int, h: int
    ) -> None:
        if not 1 <= every <= MAX_DETECT_EVERY:
            raise ValueError(f"detect_every is 1..{MAX_DETECT_EVERY}")
        if every > tracking.hold_frames + 1:
            raise ValueError("hold_frames must cover the frames between detector runs")
        self.detectors, self.every = list(detectors), every
        self.trackers = [BoxTracker(tracking, w, h) for _ in self.detectors]
        self.seconds = 0.0
        # a frame's boxes are final once the frame is this many frames behind the last one seen
        # (a track started at a run is carried back to the frame after the previous run)
        self.lag = every - 1 if tracking.backfill else 0
        self._boxes: dict[int, list[Box]] = {}
        self._pool = ThreadPoolExecutor(DETECT_WORKERS, thread_name_prefix="mask-detect")
        self._waiting: deque[tuple[int, list[Future[tuple[list[Detection], float]] | None]]]
        self._waiting = deque()
        self.stepped = -1  # the last frame given to the trackers

    def __enter__(self) -> _Detection:
        return self

    def __exit__(self, *_: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def see(self, index: int, frame: av.VideoFrame) -> None:
        runs: list[Future[tuple[list[Detection], float]] | None] = []
        for k, detector in enumerate(self.detectors):
            offset = k * self.every // max(1, len(self.detectors))
            run = (index - offset) % self.every == 0 or index == 0
            if not run:
                runs.append(None)
                continue
            # scaled here, not in the pool: a frame's swscale context is not for two threads
            w, h = input_size(frame.width, frame.height, detector.input_width)
            small: Frame = frame.reformat(width=w, height=h, format="rgb24").to_ndarray()  # type: ignore[assignment]
            runs.append(self._pool.submit(_run, detector, small, frame.width, frame.height))
        self._waiting.append((index, runs))
        while self._waiting and (
            len(self._waiting) >= self.every
            or all(r is None or r.done() for r in self._waiting[0][1])
        ):
            self._step(*self._waiting.popleft())

    def final(self, end: bool) -> int:
        """The last frame whose boxes are final (at the ``end``, after every run is done)."""
        while end and self._waiting:
            self._step(*self._waiting.popleft())
        return MAX_FRAMES if end else self.stepped - self.lag

    def _step(self, index: int, runs: list[Future[tuple[list[Detection], float]] | None]) -> None:
        for tracker, run in zip(self.trackers, runs, strict=True):
            found = None
            if run is not None:
                found, seconds = run.result()
                self.seconds += seconds
            shown = tracker.step(index, found)
            self._boxes.setdefault(index, []).extend(box for _, box in shown)
            for earlier, box in tracker.backfilled:
                self._boxes.setdefault(earlier, []).append(box)
            tracker.backfilled.clear()
        self.stepped = index

    def boxes(self, index: int) -> list[Box]:
        """The boxes of frame ``index``, final once frame ``index + lag`` has been stepped."""
        return self._boxes.pop(index, [])

    def tracks(self) -> list[Track]:
        self.final(end=True)
        return [track for tracker in self.trackers for track in tracker.close()]


def _run(
    detector: Detector, image: Frame, width: int, height: int
) -> tuple[list[Detection], float]:
    """One detector run on a frame already scaled to its input (in a pool thread)."""
    started = time.perf_counter()
    found = detector.detect_input(image, width, height)
    return found, time.perf_counter() - started


def propose(
    source: Path,
    detectors: Sequence[Detector],
    detect_every: int = 5,
    tracking: TrackerSettings | None = None,
    progress: Callable[[int], None] | None = None,
) -> Proposal:
    """``progress(frames done)`` is called after each frame (it may raise to stop)."""
    width, height, fps = probe(source)
    detection = _Detection(detectors, detect_every, tracking or TrackerSettings(), width, height)
    started, frames = time.perf_counter(), 0
    with detection, _Pipeline() as pipeline:
        for index, frame in pipeline.decoded(source):
            detection.see(index, frame)
            frames = index + 1
            if progress is not None:
                progress(frames)
        tracks = detection.tracks()
    return Proposal(
        width, height, fps, frames, tracks,
        [d.description for d in detectors], detect_every, time.perf_counter() - started,
    )  # fmt: skip


def render(
    source: Path,
    target: Path,
    boxes_for: Callable[[int, av.VideoFrame], list[Box]],
    zones: Sequence[StaticZone] = (),
    mode: MaskMode = MaskMode.PIXELATE,
    encode: EncodeSettings | None = None,
    keep_boxes: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Rendered:
    """Decode ``source``, mask ``boxes_for(index, frame)`` and the zones, encode H.264 to
    ``target``; ``progress(frames done)`` after each frame (it may raise to stop)."""
    found: dict[int, list[Box]] = {}

    def see(index: int, frame: av.VideoFrame) -> None:
        found[index] = boxes_for(index, frame)

    return _render(
        source, target, see, lambda i: found.pop(i, []), lambda end: MAX_FRAMES, zones, mode,
        encode, keep_boxes, progress,
    )  # fmt: skip


def mask_clip(
    source: Path,
    target: Path,
    detectors: Sequence[Detector],
    detect_every: int = 5,
    tracking: TrackerSettings | None = None,
    zones: Sequence[StaticZone] = (),
    mode: MaskMode = MaskMode.PIXELATE,
    encode: EncodeSettings | None = None,
    keep_boxes: bool = False,
) -> Rendered:
    """Detect, track, mask and encode in one pass (each frame masked ``lag`` frames late)."""
    width, height, _ = probe(source)
    detection = _Detection(detectors, detect_every, tracking or TrackerSettings(), width, height)
    with detection:
        done = _render(
            source, target, detection.see, detection.boxes, detection.final, zones, mode,
            encode, keep_boxes, None,
        )  # fmt: skip
    done.detect_seconds = detection.seconds
    return done


def _render(
    source: Path,
    target: Path,
    see: Callable[[int, av.VideoFrame], None],
    boxes: Callable[[int], list[Box]],
    final: Callable[[bool], int],
    zones: Sequence[StaticZone],
    mode: MaskMode,
    encode: EncodeSettings | None,
    keep_boxes: bool,
    progress: Callable[[int], None] | None,
) -> Rendered:
    """``see`` each decoded frame in order; frame ``i`` is masked with ``boxes(i)`` once
    ``final(False)`` reaches it (``final(True)`` at the end), then encoded in the encoder's
    thread; ``progress`` counts the frames handed to the encoder, in the caller's thread."""
    encode = encode or EncodeSettings()
    width, height, fps = probe(source)
    zone_boxes = [z.box(width, height) for z in zones]
    started = time.perf_counter()
    kept: list[list[Box]] = []
    handed = 0
    waiting: deque[tuple[int, av.VideoFrame]] = deque()
    with _Pipeline() as pipeline:
        encoder = pipeline.encoder(target, width, height, fps, encode, zone_boxes, mode)

        def release(until: int) -> None:
            nonlocal handed
            while waiting and waiting[0][0] <= until:
                index, frame = waiting.popleft()
                found = boxes(index)
                if keep_boxes:
                    kept.append(found)
                pipeline.put(encoder.queue, (frame, found))
                handed += 1
                if progress is not None:
                    progress(handed)

        for index, frame in pipeline.decoded(source):
            see(index, frame)
            waiting.append((index, frame))
            release(final(False))
        release(final(True))
        pipeline.put(encoder.queue, None)
        encoder.join()
        if encoder.error is not None:
            raise encoder.error
    return Rendered(encoder.frames, time.perf_counter() - started, encoder.masked, per_frame=kept)


class _StoppedError(Exception):
    """Another stage of the pipeline failed or the pipeline was left."""


class _Stage(threading.Thread):
    def __init__(self, pipeline: _Pipeline, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.pipeline = pipeline
        self.queue: queue.Queue[object] = queue.Queue(QUEUED_FRAMES)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.work()
        except _StoppedError:
            pass
        except BaseException as error:  # handed to the caller's thread
            self.error = error
            self.pipeline.stop.set()

    def work(self) -> None:
        raise NotImplementedError


class _Decoder(_Stage):
    def __init__(self, pipeline: _Pipeline, source: Path) -> None:
        super().__init__(pipeline, "mask-decode")
        self.source = source

    def work(self) -> None:
        for item in _decoded(self.source):
            self.pipeline.put(self.queue, item)
        self.pipeline.put(self.queue, None)


class _Encoder(_Stage):
    """Masks each frame on its yuv420p planes and encodes it; ``None`` ends the stream."""

    def __init__(
        self,
        pipeline: _Pipeline,
        target: Path,
        size: tuple[int, int, Fraction],
        encode: EncodeSettings,
        zones: list[Box],
        mode: MaskMode,
    ) -> None:
        super().__init__(pipeline, "mask-encode")
        self.target, self.size, self.encode, self.zones, self.mode = (
            target,
            size,
            encode,
            zones,
            mode,
        )
        self.frames = self.masked = 0

    def work(self) -> None:
        width, height, fps = self.size
        with av.open(str(self.target), "w", format="mp4") as output:
            stream = output.add_stream("libx264", rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.codec_context.thread_count = self.encode.threads
            stream.options = {"crf": str(self.encode.crf), "preset": self.encode.preset}
            while (item := self.pipeline.get(self.queue)) is not None:
                decoded: av.VideoFrame = item[0]  # type: ignore[index]
                boxes: list[Box] = item[1]  # type: ignore[index]
                if decoded.format.name != "yuv420p":
                    decoded = decoded.reformat(format="yuv420p")
                planar: Frame = decoded.to_ndarray()  # type: ignore[assignment]
                self.masked += mask_yuv420p(planar, width, height, boxes + self.zones, self.mode)
                frame = av.VideoFrame.from_ndarray(planar, format="yuv420p")
                for packet in stream.encode(frame):
                    output.mux(packet)
                self.frames += 1
            for packet in stream.encode(None):
                output.mux(packet)


_S = TypeVar("_S", bound=_Stage)


class _Pipeline:
    """The threads of one decode → detect → mask → encode run; leaving it stops them."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._stages: list[_Stage] = []

    def __enter__(self) -> _Pipeline:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for stage in self._stages:
            stage.join()

    def put(self, where: queue.Queue[object], item: object) -> None:
        while True:
            self._check()
            try:
                where.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def get(self, where: queue.Queue[object]) -> object:
        while True:
            try:
                return where.get(timeout=0.1)
            except queue.Empty:
                self._check()

    def _check(self) -> None:
        if self.stop.is_set():
            for stage in self._stages:
                if stage.error is not None:
                    raise stage.error
            raise _StoppedError

    def decoded(self, source: Path) -> Iterator[tuple[int, av.VideoFrame]]:
        decoder = self._start(_Decoder(self, source))
        while (item := self.get(decoder.queue)) is not None:
            yield item  # type: ignore[misc]

    def encoder(
        self,
        target: Path,
        width: int,
        height: int,
        fps: Fraction,
        encode: EncodeSettings,
        zones: list[Box],
        mode: MaskMode,
    ) -> _Encoder:
        return self._start(_Encoder(self, target, (width, height, fps), encode, zones, mode))

    def _start(self, stage: _S) -> _S:
        self._stages.append(stage)
        stage.start()
        return stage


def boxes_from_tracks(tracks: Sequence[Track]) -> dict[int, list[Box]]:
    """Per-frame boxes of a (reviewed) proposal's tracks."""
    per_frame: dict[int, list[Box]] = {}
    for track in tracks:
        for index, box in track.frames:
            per_frame.setdefault(index, []).append(box)
    return per_frame


def rgb_frames(source: Path) -> Iterator[tuple[int, Frame]]:
    """Every frame of ``source`` as RGB (for measuring detectors on every frame)."""
    for index, frame in _decoded(source):
        image: Frame = frame.to_ndarray(format="rgb24")  # type: ignore[assignment]
        yield index, image
