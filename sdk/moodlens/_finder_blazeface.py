"""Face finding with MediaPipe's BlazeFace detectors, converted to ONNX, on ONNX Runtime.

The ``.onnx`` files describe themselves (``moodlens.*`` metadata written by
``moodlens-export-blazeface``): input size, anchor layout, score and overlap thresholds,
the smallest face the model finds reliably, and the mapping of its box onto the
canonical face box. Anchors, decoding, weighted NMS and keypoints are numpy
(``_anchors``); TensorFlow is never needed.

Small faces in big frames: the graph is fully convolutional, so it runs on a canvas of
any size (sides multiples of 16) with a matching grid of anchors, which is a sliding
window over the frame at no extra cost and without tile seams. A pyramid of canvases:
the frame scaled so a face of ``min_face`` pixels appears at the model's smallest
reliable size, then each level half the last, down to the whole frame letterboxed into
the model's own input. All candidates go through one weighted NMS in frame pixels.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ._anchors import decode, ssd_anchors, weighted_nms
from ._errors import FaceDetectorError
from ._faces import FaceFinderOptions, FoundFace, Framing, as_gray, boxes_to_faces
from ._types import Box

__all__ = ["DEFAULT_VARIANT", "BlazeFaceFinder", "DetectorInfo", "blazeface_model_path"]

#: The variant "blazeface" means (benchmarks/results_face_finder.md).
DEFAULT_VARIANT = "short"
#: MediaPipe's own score threshold: with ``FaceFinderOptions.confirm`` every candidate
#: from it up is weighed by :meth:`BlazeFaceFinder.verify`.
CANDIDATE_THRESHOLD = 0.5
#: The verification rule, chosen on FER2013 Training frames (benchmarks/
#: results_face_finder.md): a candidate is a face when its evidence, the score plus
#: ``FULL_WEIGHT`` times the full-range model's score on a window three times its side
#: plus ``HAAR_WEIGHT`` when the Haar cascade confirms it, reaches ``EVIDENCE``. Below
#: ``SURE``, a face must also have inner contrast (standard deviation over mean of the
#: middle of its box) of at least ``MIN_CONTRAST``: the least on 671 Training faces was
#: 0.117, while a bright featureless blob scores 0.7-0.76 and has 0.08.
EVIDENCE = 0.76
FULL_WEIGHT = 0.2
HAAR_WEIGHT = 0.1
SURE = 0.85
MIN_CONTRAST = 0.1
#: Tracking: a known face appears this many pixels tall in its search window (a canvas
#: of 112 px with the default margin, not the model's 128). On FER2013 Training scenes it
#: re-finds 99.1-99.3% of faces (99.3-99.8% at 64 px) with the same share classified
#: right, in three quarters of the time; a miss costs a full search, not the face.
NEAR_FACE_SIDE = 56
MODEL_FILES = {"short": "face_blazeface_short.onnx", "full": "face_blazeface_full.onnx"}
#: Metadata every face-detector file carries (JSON values).
METADATA_KEYS: Mapping[str, str] = {
    "moodlens.kind": '"face_detector"',
    "moodlens.input_size": "side of the square RGB input in pixels",
    "moodlens.anchors": '{"strides": [...], "interpolated_scale_aspect_ratio": r}',
    "moodlens.score_threshold": "least sigmoid score of a face",
    "moodlens.iou_threshold": "overlap above which weighted NMS merges candidates",
    "moodlens.min_face_input": "smallest face side (pixels of the input) found reliably",
    "moodlens.max_face_input": "largest face side (pixels of the input) found reliably",
    "moodlens.framing": '{"dx", "dy", "sx", "sy"}: the box-to-canonical-face mapping',
}


def blazeface_model_path(variant: str) -> Path:
    """The bundled BlazeFace ONNX file of a variant ("short" or "full")."""
    return Path(str(resources.files("moodlens.models").joinpath(MODEL_FILES[variant])))


@dataclass(frozen=True, slots=True)
class DetectorInfo:
    """What a face-detector file says about itself (``BlazeFaceFinder.info``).

    Attributes:
        input_size: side of the model's own square input, pixels.
        strides: feature-map stride of each anchor layer (the anchor grid).
        interpolated_scale_aspect_ratio: MediaPipe's anchor setting (1.0: two per cell).
        score_threshold: least score of a face accepted outright.
        iou_threshold: overlap above which weighted NMS merges candidates.
        min_face_input, max_face_input: the face sides, in pixels of the input, that the
            model finds reliably (measured by the exporter on FER2013 Training faces).
        framing: how the model's box maps onto the canonical face box.
        metadata: every ``moodlens.*`` entry of the file, JSON strings.
    """

    input_size: int
    strides: tuple[int, ...]
    interpolated_scale_aspect_ratio: float
    score_threshold: float
    iou_threshold: float
    min_face_input: float
    max_face_input: float
    framing: Framing
    metadata: Mapping[str, str]

    @classmethod
    def parse(cls, meta: Mapping[str, str], where: str) -> DetectorInfo:
        """Raises FaceDetectorError when the metadata is missing or malformed."""
        missing = [k for k in METADATA_KEYS if k not in meta]
        if missing or meta.get("moodlens.kind") != '"face_detector"':
            needed = "; ".join(f"{k}: {METADATA_KEYS[k]}" for k in missing) or "moodlens.kind"
            raise FaceDetectorError(
                f"{where} is not a moodlens face detector: its metadata lacks {needed}. "
                "Export it with moodlens-export-blazeface."
            )
        try:
            anchors = json.loads(meta["moodlens.anchors"])
            return cls(
                input_size=int(json.loads(meta["moodlens.input_size"])),
                strides=tuple(int(s) for s in anchors["strides"]),
                interpolated_scale_aspect_ratio=float(anchors["interpolated_scale_aspect_ratio"]),
                score_threshold=float(json.loads(meta["moodlens.score_threshold"])),
                iou_threshold=float(json.loads(meta["moodlens.iou_threshold"])),
                min_face_input=float(json.loads(meta["moodlens.min_face_input"])),
                max_face_input=float(json.loads(meta["moodlens.max_face_input"])),
                framing=Framing(**json.loads(meta["moodlens.framing"])),
                metadata=dict(meta),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise FaceDetectorError(f"{where}: malformed moodlens metadata ({exc}).") from None


class BlazeFaceFinder:
    """BlazeFace on ONNX Runtime; one instance may be shared by threads.

    Args:
        variant: "short" (128 px input, trained on faces near the camera) or "full"
            (192 px, faces up to ~5 m); tracking windows always use the short-range model,
            in which the face fills the window (with ``model_path``, that file serves both).
        options: ``min_face`` (pixels of the frame), ``score_threshold``, ``search_margin``.
        providers: ONNX Runtime execution providers (default CPU).
        threads: ONNX Runtime intra-op threads (default 1: the model is tiny).
        model_path: a face-detector .onnx file instead of the bundled one of ``variant``.
        framing: overrides the file's box-to-face mapping (measurement tools use identity).

    Raises:
        FaceDetectorError: a model file missing, unreadable or without moodlens metadata.
    """

    name = "blazeface"

    def __init__(
        self,
        variant: str = DEFAULT_VARIANT,
        options: FaceFinderOptions | None = None,
        *,
        providers: Sequence[Any] | None = None,
        threads: int = 1,
        model_path: str | Path | None = None,
        framing: Framing | None = None,
    ) -> None:
        if variant not in MODEL_FILES:
            raise FaceDetectorError(
                f"unknown BlazeFace variant {variant!r}; use 'short' or 'full'."
            )
        self.options = options or FaceFinderOptions()
        self.variant = variant
        self._main = _Model(
            Path(model_path) if model_path else blazeface_model_path(variant), providers, threads
        )
        self._near = (
            self._main
            if variant == "short" or model_path is not None
            else _Model(blazeface_model_path("short"), providers, threads)
        )
        # Second opinions for low-scoring candidates (verify), loaded when first needed.
        self._haar: Any = None
        self._full: _Model | None = self._main if variant == "full" and not model_path else None
        # EVIDENCE was tuned for the bundled short-range model; others need their own score.
        tuned = variant == "short" and model_path is None
        self._evidence = EVIDENCE if tuned else self._main.info.score_threshold
        self._providers, self._threads = providers, threads
        self.framing = framing if framing is not None else self._main.info.framing
        self._near_framing = framing if framing is not None else self._near.info.framing

    @property
    def info(self) -> DetectorInfo:
        return self._main.info

    # -- the work ----------------------------------------------------------------------------
    def find(self, frame: np.ndarray) -> list[FoundFace]:
        """All faces of at least ``min_face`` pixels in a decoded frame, largest first."""
        h, w = frame.shape[:2]
        region = (0.0, 0.0, float(w), float(h))
        info = self._main.info
        scales = self.scales(w, h)
        # Each level keeps the faces in the model's reliable range of sizes (with some
        # slack); the finest keeps smaller ones (min_face filters them), the coarsest
        # bigger ones: a face the coarse level sees at 16 px has a poor box.
        passes = []
        for i, scale in enumerate(scales):
            lo = 0.0 if i == 0 else 0.8 * info.min_face_input
            hi = math.inf if i == len(scales) - 1 else 1.25 * info.max_face_input
            passes.append((region, scale, lo, hi))
        min_face = self.options.resolved_min_face(w, h)
        if not self.options.confirm:
            accept = self.options.score_threshold or info.score_threshold
            return self._search(frame, self._main, passes, self.framing, min_face, accept)
        found = self._search(frame, self._main, passes, self.framing, min_face, CANDIDATE_THRESHOLD)
        return [f for f in found if self.verify(frame, f)]

    def verify(self, frame: np.ndarray, face: FoundFace) -> bool:
        """Whether a candidate found in ``frame`` is a face (``FaceFinderOptions.confirm``).

        Its evidence is its score, plus 0.2 times the full-range model's score on a window
        three times its side, plus 0.1 when the Haar cascade finds a face there too (in the
        window levelled by the face's eye roll: the cascade finds upright faces only); a
        face needs ``score_threshold`` when set, else 0.76 with the bundled short-range
        model and the model's own score threshold with any other. A candidate scoring
        under 0.85 must also have some contrast inside its box. The second opinions run
        only where they can change the answer, cheapest first. On FER2013 Training frames
        this keeps as many faces as the model's own threshold with the cascade alone, with
        a sixth of the false boxes (benchmarks/results_face_finder.md).
        """
        score = face.score or 0.0
        need = self.options.score_threshold or self._evidence
        if score < SURE and self.contrast(frame, face.box) < MIN_CONTRAST:
            return False
        if score >= need:
            return True
        if score + FULL_WEIGHT + HAAR_WEIGHT < need:
            return False
        haar: bool | None = None  # not asked yet
        if score + FULL_WEIGHT < need:  # only both opinions together can carry it
            haar = self.haar_confirms(frame, face)
            if not haar:
                return False
        evidence = score + FULL_WEIGHT * self.second_look(frame, face.box)
        if evidence >= need:
            return True
        if evidence + HAAR_WEIGHT < need:
            return False
        return haar if haar is not None else self.haar_confirms(frame, face)

    def second_look(self, frame: np.ndarray, box: Box) -> float:
        """The full-range model's best score for a face at ``box`` (centre within half its
        side, size within 0.5-2x), looking at a window three times its side; 0.0 if none."""
        full = self._full
        if full is None:
            full = self._full = _Model(blazeface_model_path("full"), self._providers, self._threads)
        side = float(max(box.w, box.h))
        window = 3.0 * side
        cx, cy = box.x + box.w / 2, box.y + box.h / 2
        region = (cx - window / 2, cy - window / 2, window, window)
        boxes, _, scores = full.candidates(frame, region, full.info.input_size / window, 0.05)
        if not len(scores):
            return 0.0
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        sides = np.sqrt(np.prod(np.maximum(boxes[:, 2:] - boxes[:, :2], 1e-6), axis=1))
        near = np.hypot(centres[:, 0] - cx, centres[:, 1] - cy) < side / 2
        near &= (sides > side / 2) & (sides < side * 2)
        return float(scores[near].max()) if near.any() else 0.0

    @staticmethod
    def contrast(frame: np.ndarray, box: Box) -> float:
        """Standard deviation over mean (+1) of the gray levels in the middle 70% of
        ``box``: eyes, brows and mouth give a face at least about 0.12 (the least of 671
        FER2013 Training faces was 0.117); a featureless blob less."""
        x0, y0 = max(0, int(box.x + 0.15 * box.w)), max(0, int(box.y + 0.15 * box.h))
        x1, y1 = int(box.x + 0.85 * box.w), int(box.y + 0.85 * box.h)
        inner = frame[y0:y1, x0:x1]
        if inner.size == 0:
            return 0.0
        gray = as_gray(inner).astype(np.float32)
        return float(gray.std() / (gray.mean() + 1.0))

    def haar_confirms(self, frame: np.ndarray, face: FoundFace) -> bool:
        """Whether the Haar cascade, the second opinion of :meth:`verify`, finds a face of
        about ``face``'s size in its window levelled by its eye roll (False where OpenCV
        has no cascades)."""
        haar = self._haar
        if haar is None:
            from ._finder_haar import HaarFaceFinder

            try:
                haar = HaarFaceFinder(
                    FaceFinderOptions(min_neighbors=3, min_face=24, scale_factor=1.05)
                )
            except FaceDetectorError:  # OpenCV 5 has no cascades: no second opinion
                haar = False
            self._haar = haar
        return bool(haar) and haar.confirms(frame, face.box, face.roll)

    def find_near(self, frame: np.ndarray, near: Sequence[Box]) -> list[FoundFace]:
        """Faces in a square window around each known box, searched by the short-range model."""
        side_in = float(self._near.info.input_size)
        if self._near.dynamic:  # the window's canvas, not the model's input size
            align = self._near.align
            want = NEAR_FACE_SIDE * (1 + 2 * self.options.search_margin)
            side_in = min(side_in, max(align, round(want / align) * align))
        passes = []
        for box in near:
            side = max(box.w, box.h) * (1 + 2 * self.options.search_margin)
            cx, cy = box.x + box.w / 2, box.y + box.h / 2
            passes.append(
                ((cx - side / 2, cy - side / 2, side, side), side_in / side, 0.0, math.inf)
            )
        if not passes:
            return []
        h, w = frame.shape[:2]
        # A tracked face is known to be there: candidates count (MediaPipe's threshold).
        low = min(
            self.options.score_threshold or self._near.info.score_threshold, CANDIDATE_THRESHOLD
        )
        found = self._search(
            frame,
            self._near,
            passes,
            self._near_framing,
            self.options.resolved_min_face(w, h),
            low,
            round(side_in),
        )
        # A face in a window is the tracked face only if it is about its size.
        biggest = max(max(b.w, b.h) for b in near)
        return [f for f in found if max(f.box.w, f.box.h) <= 2.0 * biggest]

    # -- the model's raw side: exporters and measurement tools ------------------------------
    def input_tensor(self, frame: np.ndarray, scale: float | None = None) -> np.ndarray:
        """The tensor the main model sees for a whole decoded frame: (1, H, W, 3) float32
        RGB in [-1, 1], the frame scaled by ``scale`` at the top left of the canvas.

        ``scale=None`` fits the frame into the model's input (letterboxed), as the
        coarsest level of :meth:`find` does.
        """
        h, w = frame.shape[:2]
        if scale is None:
            scale = self._main.info.input_size / max(w, h)
        return self._main.tensor(frame, (0.0, 0.0, float(w), float(h)), scale)[0]

    def raw_outputs(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The main model's raw outputs for an input tensor (one image):
        (N, 16) box and keypoint regressors and (N,) score logits, one row per anchor."""
        return self._main.raw(tensor)

    def decode_outputs(
        self,
        regressors: np.ndarray,
        logits: np.ndarray,
        width: int,
        height: int,
        *,
        threshold: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw outputs of a ``width`` x ``height`` input -> faces after weighted NMS:
        (K, 4) x0, y0, x1, y1 boxes and (K, 6, 2) keypoints in pixels of that input, and
        (K,) scores. Boxes are the model's own (no framing); ``threshold`` defaults to
        the model's score threshold. Runs on any runtime's outputs of the same model (the
        exporter's TFLite parity check uses it)."""
        info = self._main.info
        threshold = info.score_threshold if threshold is None else threshold
        boxes, kps, scores = decode(
            np.asarray(regressors).reshape(-1, 16),
            np.asarray(logits).reshape(-1),
            self._main.anchors(width, height),
        )
        return weighted_nms(
            boxes, kps, scores, score_threshold=threshold, iou_threshold=info.iou_threshold
        )

    def candidates(
        self, frame: np.ndarray, scale: float = 1.0, threshold: float | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One pass of the main model over the whole frame scaled by ``scale``: every
        candidate scoring at least ``threshold`` (default: the model's), before NMS and
        framing, as (N, 4) boxes, (N, 6, 2) keypoints in frame pixels and (N,) scores."""
        h, w = frame.shape[:2]
        threshold = self._main.info.score_threshold if threshold is None else threshold
        return self._main.candidates(frame, (0.0, 0.0, float(w), float(h)), scale, threshold)

    def scales(self, w: int, h: int) -> list[float]:
        """The pyramid for a w x h frame: scale factors, finest first.

        The finest brings a face of ``min_face`` pixels to the model's smallest reliable
        size (never upscaling: smaller faces are then found less reliably); each next
        level covers the faces the last one could not (the model's reliable range of
        sizes); the last fits the frame into the input.
        """
        info = self._main.info
        fit = info.input_size / max(w, h)
        scale = min(1.0, info.min_face_input / self.options.resolved_min_face(w, h))
        step = max(1.5, info.max_face_input / info.min_face_input)
        out = []
        while scale > 1.3 * fit:  # a level close to the last one would add little
            out.append(scale)
            scale /= step
        out.append(fit)
        return out

    def _search(
        self,
        frame: np.ndarray,
        model: _Model,
        passes: Sequence[tuple[tuple[float, float, float, float], float, float, float]],
        framing: Framing,
        min_face: float,
        threshold: float,
        min_canvas: int | None = None,
    ) -> list[FoundFace]:
        info = model.info
        boxes, kps, scores = [], [], []
        for region, scale, lo, hi in passes:
            b, k, s = model.candidates(frame, region, scale, threshold, (lo, hi), min_canvas)
            boxes.append(b)
            kps.append(k)
            scores.append(s)
        b, k, s = weighted_nms(
            np.concatenate(boxes),
            np.concatenate(kps),
            np.concatenate(scores),
            score_threshold=threshold,
            iou_threshold=info.iou_threshold,
        )
        return boxes_to_faces(framing.apply(b), s, k, frame.shape, min_face)


class _Model:
    """One BlazeFace ONNX session, its metadata and anchors (per canvas size)."""

    def __init__(self, path: Path, providers: Sequence[Any] | None, threads: int) -> None:
        import onnxruntime as ort

        if not path.is_file():
            raise FaceDetectorError(
                f"face detector {path} does not exist; reinstall moodlens, or pass the path "
                "of a file made by moodlens-export-blazeface."
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(
                str(path),
                sess_options=options,
                providers=list(providers or ["CPUExecutionProvider"]),
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise FaceDetectorError(f"{path} could not be loaded by ONNX Runtime: {exc}") from exc
        self.info = DetectorInfo.parse(self.session.get_modelmeta().custom_metadata_map, str(path))
        self.input = self.session.get_inputs()[0].name
        shape = self.session.get_inputs()[0].shape
        side = self.info.input_size
        if (
            len(shape) != 4
            or shape[3] != 3
            or any(d not in (side, None) and isinstance(d, int) for d in shape[1:3])
        ):
            raise FaceDetectorError(
                f"{path}: input shape {shape}; expected [batch, {side}, {side}, 3] (or "
                "dynamic height and width) as its metadata says."
            )
        self.dynamic = not all(isinstance(d, int) for d in shape[1:3])
        # Canvas sides: multiples of the deepest feature map's stride (the full-range
        # model adds upsampled maps to finer ones, so its sides must divide by 32).
        self.align = int(self.info.metadata.get("moodlens.canvas_multiple", "32"))
        self._anchors: dict[tuple[int, int], np.ndarray] = {}
        self._lock = threading.Lock()

    def anchors(self, width: int, height: int) -> np.ndarray:
        key = (width, height)
        found = self._anchors.get(key)
        if found is None:
            found = ssd_anchors(
                width,
                height,
                self.info.strides,
                interpolated_scale_aspect_ratio=self.info.interpolated_scale_aspect_ratio,
            )
            with self._lock:
                if len(self._anchors) > 32:  # frame sizes seldom vary; keep it bounded
                    self._anchors.clear()
                self._anchors[key] = found
        return found

    def tensor(
        self,
        frame: np.ndarray,
        region: tuple[float, float, float, float],
        scale: float,
        min_canvas: int | None = None,
    ) -> tuple[np.ndarray, float, float, float, float]:
        """The region of the frame scaled by ``scale`` on a canvas at the top left:
        (1, H, W, 3) RGB in [-1, 1], and the mapping back (sx, sy, x0, y0):
        frame_x = canvas_x / sx + x0. The canvas is at least the model's input size (or
        ``min_canvas``, if smaller) and its sides are multiples of the largest stride; on
        a fixed-size model, the region is letterboxed into the input."""
        side = self.info.input_size
        h, w = frame.shape[:2]
        x, y, rw, rh = region
        if not self.dynamic:
            scale = min(scale, side / max(rw, rh))
        # Whole pixels of the frame inside the region (so the offsets are never negative).
        x0, y0 = max(0, math.ceil(x)), max(0, math.ceil(y))
        x1, y1 = max(x0 + 1, min(w, math.floor(x + rw))), max(y0 + 1, min(h, math.floor(y + rh)))
        if x0 >= w or y0 >= h:  # a region outside the frame: nothing to see
            x0, y0, x1, y1 = min(x0, w - 1), min(y0, h - 1), min(x0, w - 1) + 1, min(y0, h - 1) + 1
        ox, oy = round((x0 - x) * scale), round((y0 - y) * scale)
        out_w = max(1, round((x1 - x0) * scale))
        out_h = max(1, round((y1 - y0) * scale))
        least = side if min_canvas is None else min(side, min_canvas)
        cw = max(least, math.ceil((ox + out_w) / self.align) * self.align)
        ch = max(least, math.ceil((oy + out_h) / self.align) * self.align)
        if not self.dynamic:
            cw = ch = side
            out_w, out_h = min(out_w, side - ox), min(out_h, side - oy)
        canvas = np.zeros((ch, cw, 3), dtype=np.uint8)
        # Shrinking: OpenCV's area filter is fast only for whole-number factors (1.8 ms at
        # 640x480 -> 288x216 otherwise, 0.07 ms for the halving), so shrink by the largest
        # whole factor k first (dropping under k pixels at the right and bottom) and
        # interpolate the rest, which is less than 2x.
        k = min((x1 - x0) // out_w, (y1 - y0) // out_h)
        if k >= 2:
            x1, y1 = x0 + (x1 - x0) // k * k, y0 + (y1 - y0) // k * k
            part = cv2.resize(
                frame[y0:y1, x0:x1],
                ((x1 - x0) // k, (y1 - y0) // k),
                interpolation=cv2.INTER_AREA,
            )
        else:
            part = frame[y0:y1, x0:x1]
        interp = cv2.INTER_AREA if out_w < part.shape[1] and k < 2 else cv2.INTER_LINEAR
        small = cv2.resize(part, (out_w, out_h), interpolation=interp)
        code = cv2.COLOR_GRAY2RGB if small.ndim == 2 else cv2.COLOR_BGR2RGB
        canvas[oy : oy + out_h, ox : ox + out_w] = cv2.cvtColor(small, code)
        sx, sy = out_w / (x1 - x0), out_h / (y1 - y0)
        tensor = canvas.astype(np.float32)
        tensor *= 1.0 / 127.5
        tensor -= 1.0
        return tensor[None], sx, sy, x0 - ox / sx, y0 - oy / sy

    def raw(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The model's raw outputs for one input tensor: (N, 16) regressors, (N,) logits."""
        out = self.session.run(None, {self.input: tensor})
        regressors, logits = (out[0], out[1]) if out[0].shape[-1] == 16 else (out[1], out[0])
        return regressors.reshape(-1, 16), logits.reshape(-1)

    def candidates(
        self,
        frame: np.ndarray,
        region: tuple[float, float, float, float],
        scale: float,
        threshold: float,
        sizes: tuple[float, float] = (0.0, math.inf),
        min_canvas: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Decoded candidates above ``threshold`` in frame pixels: boxes, keypoints, scores.

        ``sizes``: the range of box sides (pixels of the canvas) kept.
        """
        tensor, sx, sy, ox, oy = self.tensor(frame, region, scale, min_canvas)
        regressors, logits = self.raw(tensor)
        anchors = self.anchors(tensor.shape[2], tensor.shape[1])
        keep = logits > math.log(threshold / (1 - threshold))  # before decoding everything
        side = np.sqrt(np.abs(regressors[:, 2] * regressors[:, 3]))
        keep &= (side >= sizes[0]) & (side <= sizes[1])
        boxes, kps, scores = decode(regressors[keep], logits[keep], anchors[keep])
        boxes[:, [0, 2]] = boxes[:, [0, 2]] / sx + ox
        boxes[:, [1, 3]] = boxes[:, [1, 3]] / sy + oy
        kps[..., 0] = kps[..., 0] / sx + ox
        kps[..., 1] = kps[..., 1] / sy + oy
        return boxes, kps, scores
