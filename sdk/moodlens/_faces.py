"""The face-finder seam: what every face finder returns, its options, and face crops.

Two finders implement :class:`FaceFinder`: the ONNX BlazeFace detector
(``_finder_blazeface``, the default) and OpenCV's Haar cascade (``_finder_haar``,
Viola-Jones). Both take the decoded frame (HxWx3 BGR or HxW gray uint8), report face
boxes in pixels of that frame, and map their own boxes onto one canonical face box, the
Haar cascade's box on FER2013-framed faces, which the emotion model's ``crop_margin``
is measured against (:class:`Framing`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from ._errors import InvalidImageError, OptionsError
from ._image import ImageLike, load_image, to_gray
from ._types import Box

__all__ = [
    "FACE_FINDERS",
    "FaceFinder",
    "FaceFinderOptions",
    "FoundFace",
    "Framing",
    "cascade_path",
    "crop_faces",
    "eye_roll",
    "make_face_finder",
    "to_frame",
]

#: The names ``EmotionDetector(face_finder=...)`` accepts; "blazeface" is the measured best
#: BlazeFace variant (benchmarks/results_face_finder.md).
FACE_FINDERS = ("blazeface", "blazeface-short", "blazeface-full", "haar")
DEFAULT_FACE_FINDER = "blazeface"
#: min_face=None: a sixth of the frame's shorter side, clamped to this range (pixels).
AUTO_MIN_FACE = (40, 160)


@dataclass(frozen=True, slots=True)
class FoundFace:
    """One face a finder found.

    Attributes:
        box: the canonical face box (x, y, w, h) in pixels of the frame.
        score: the finder's confidence in [0, 1]; None where it has none (the Haar cascade).
        keypoints: six (x, y) points in pixels of the frame (right eye, left eye, nose tip,
            mouth centre, right ear tragion, left ear tragion, as seen in the image from
            left to right for a frontal face), or None when the finder gives none.
    """

    box: Box
    score: float | None = None
    keypoints: tuple[tuple[float, float], ...] | None = None

    @property
    def roll(self) -> float:
        """The face's roll in degrees from its eye keypoints (0 without keypoints); see
        :func:`eye_roll`."""
        return eye_roll(self.keypoints)


@dataclass(frozen=True, slots=True)
class Framing:
    """How a finder's own box maps onto the canonical face box.

    canonical centre = box centre + (dx * w, dy * h); canonical size = (sx * w, sy * h).
    The identity (the Haar cascade's) is ``Framing()``.
    """

    dx: float = 0.0
    dy: float = 0.0
    sx: float = 1.0
    sy: float = 1.0

    def apply(self, boxes: np.ndarray) -> np.ndarray:
        """(N, 4) x0, y0, x1, y1 boxes of the finder -> canonical boxes, same layout."""
        w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        cx = (boxes[:, 0] + boxes[:, 2]) / 2 + self.dx * w
        cy = (boxes[:, 1] + boxes[:, 3]) / 2 + self.dy * h
        hw, hh = self.sx * w / 2, self.sy * h / 2
        return np.stack([cx - hw, cy - hh, cx + hw, cy + hh], axis=1)

    def to_dict(self) -> dict[str, float]:
        return {"dx": self.dx, "dy": self.dy, "sx": self.sx, "sy": self.sy}


@dataclass(frozen=True, slots=True)
class FaceFinderOptions:
    """Face-finder settings; each finder reads the fields that concern it.

    Attributes:
        min_face: smallest face side in pixels of the original image, on every finder;
            None (the default) for a sixth of the frame's shorter side, clamped to 40-160
            px (80 px at 640x480: a face at arm's length from a webcam). Time grows with
            (frame side / min_face) squared: pass a smaller value to find small faces in
            big frames (e.g. 48 for a crowd in a 12 MP photo) at that cost.
        search_margin: tracking windows extend a known box by this fraction on each side.
        score_threshold: BlazeFace: the evidence a face needs (see ``confirm``); None for
            0.76 with the bundled short-range model (chosen on FER2013 Training frames),
            the model's own score threshold with others (0.5 for the full-range model).
            Without ``confirm``, the least score of a face, None for the model's own
            (0.7 for the bundled short-range model).
        confirm: BlazeFace: weigh every candidate scoring 0.5 (MediaPipe's threshold) or
            more: its score, plus 0.2 times the full-range model's score on its window,
            plus 0.1 when the Haar cascade finds a face there, must reach
            ``score_threshold``, and one scoring under 0.85 must show some contrast
            inside its box (``BlazeFaceFinder.verify``). False: the score alone decides.
        align: rotate each crop so the eyes are level, where the finder gives keypoints.
            Off by default: on FER2013 Training faces (upright, and rotated up to 15
            degrees in scenes) the classifier did 0.5-0.7 points worse with it, having
            learned faces with their natural tilt (benchmarks/results_face_finder.md).
        scale_factor: Haar: image pyramid step; smaller finds more faces, slower.
        min_neighbors: Haar: overlapping hits needed to keep a face; higher, fewer false faces.
        max_side: Haar: frames whose longer side exceeds this are downscaled before the
            search, never so far that ``min_face`` would fall below the cascade's 20 px.

    Raises:
        OptionsError: a value out of range (also a ValueError).
    """

    min_face: int | None = None
    search_margin: float = 0.5
    score_threshold: float | None = None
    confirm: bool = True
    align: bool = False
    scale_factor: float = 1.1
    min_neighbors: int = 4
    max_side: int = 480

    def __post_init__(self) -> None:
        if self.min_face is not None and (
            not isinstance(self.min_face, int) or isinstance(self.min_face, bool)
        ):
            raise OptionsError(
                f"min_face must be an integer number of pixels or None, got {self.min_face!r}"
            )
        if not self.scale_factor > 1.0:
            raise OptionsError(f"scale_factor must be > 1.0, got {self.scale_factor}")
        if self.min_face is not None and self.min_face < 8:
            raise OptionsError(
                f"min_face must be at least 8 pixels (or None for the default), got {self.min_face}"
            )
        if self.min_neighbors < 0 or self.max_side < 64:
            raise OptionsError(
                "min_neighbors must be >= 0 and max_side >= 64; got "
                f"{self.min_neighbors} and {self.max_side}"
            )
        if not self.search_margin >= 0:
            raise OptionsError(f"search_margin must be >= 0, got {self.search_margin}")
        if self.score_threshold is not None and not 0.0 < self.score_threshold < 1.0:
            raise OptionsError(
                f"score_threshold must lie strictly between 0 and 1 (or be None for the "
                f"model's own), got {self.score_threshold}"
            )

    def resolved_min_face(self, width: int, height: int) -> int:
        """``min_face`` for a frame of this size (the default rule when it is None)."""
        if self.min_face is not None:
            return self.min_face
        return int(min(max(min(width, height) / 6, AUTO_MIN_FACE[0]), AUTO_MIN_FACE[1]))


@runtime_checkable
class FaceFinder(Protocol):
    """What a face finder does; pass any object like this as ``face_finder``.

    Both methods take the decoded frame, HxWx3 BGR or HxW gray uint8, and return faces
    largest first, boxes clipped to the frame, in the canonical framing.
    """

    options: FaceFinderOptions

    def find(self, frame: np.ndarray) -> list[FoundFace]:
        """All faces of at least ``options.min_face`` pixels in the frame."""
        ...

    def find_near(self, frame: np.ndarray, near: Sequence[Box]) -> list[FoundFace]:
        """Faces in windows around known boxes only: the cheap path for tracking."""
        ...


def make_face_finder(
    face_finder: str | FaceFinder | None,
    options: FaceFinderOptions | None = None,
    *,
    providers: Sequence[Any] | None = None,
) -> FaceFinder:
    """A finder by name ("blazeface", "blazeface-short", "blazeface-full", "haar") or as given.

    Raises:
        OptionsError: an unknown name, or options given with a finder instance.
        FaceDetectorError: the finder cannot be created (no cascade, unreadable model).
    """
    if face_finder is None:
        face_finder = DEFAULT_FACE_FINDER
    if not isinstance(face_finder, str):
        if not isinstance(face_finder, FaceFinder):
            raise OptionsError(
                f"face_finder must be one of {', '.join(FACE_FINDERS)} or an object with "
                f"find() and find_near() (a FaceFinder); got {type(face_finder).__name__}"
            )
        if options is not None:
            raise OptionsError(
                "face_options applies to the built-in finders; configure your own "
                "FaceFinder instance directly instead."
            )
        return face_finder
    name = face_finder.strip().lower()
    if name == "haar":
        from ._finder_haar import HaarFaceFinder

        return HaarFaceFinder(options)
    if name in ("blazeface", "blazeface-short", "blazeface-full"):
        from ._finder_blazeface import DEFAULT_VARIANT, BlazeFaceFinder

        variant = DEFAULT_VARIANT if name == "blazeface" else name.split("-")[1]
        return BlazeFaceFinder(variant, options, providers=providers)
    raise OptionsError(
        f"unknown face_finder {face_finder!r}; expected one of {', '.join(FACE_FINDERS)}"
    )


def cascade_path() -> Path:
    """The frontal-face cascade shipped with opencv-python(-headless) 4.x.

    Raises:
        FaceDetectorError: the installed OpenCV has no cascades (OpenCV 5 wheels).
    """
    from ._finder_haar import cascade_path as path

    return path()


def to_frame(image: ImageLike, *, rgb: bool = False) -> np.ndarray:
    """Validates an image and returns the decoded frame: HxWx3 BGR or HxW gray uint8.

    Colour stays colour (for finders that use it); alpha is dropped; RGB becomes BGR.

    Raises:
        InvalidImageError: what was wrong and what to pass instead.
    """
    array, decoded = load_image(image)
    if decoded and array.dtype == np.uint16:
        array = (array >> 8).astype(np.uint8)
    if (
        isinstance(array, np.ndarray)
        and array.dtype == np.uint8
        and array.ndim == 3
        and array.shape[2] in (3, 4)
        and array.size
    ):
        swap = rgb and not decoded
        if array.shape[2] == 4:
            return cv2.cvtColor(array, cv2.COLOR_RGBA2BGR if swap else cv2.COLOR_BGRA2BGR)
        if swap:
            return cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
        return np.ascontiguousarray(array)
    return to_gray(array, rgb=rgb and not decoded)


def as_gray(frame: np.ndarray) -> np.ndarray:
    """The gray view of a decoded frame (HxW stays as is)."""
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def boxes_to_faces(
    boxes: np.ndarray,
    scores: np.ndarray | None,
    keypoints: np.ndarray | None,
    shape: tuple[int, ...],
    min_face: float = 0.0,
) -> list[FoundFace]:
    """(N, 4) x0, y0, x1, y1 float boxes -> FoundFace list clipped to the frame, largest first.

    Boxes whose canonical side (the mean of width and height, before clipping) is below
    ``min_face`` are dropped.
    """
    h, w = shape[:2]
    faces = []
    for i, (x0, y0, x1, y1) in enumerate(np.asarray(boxes, dtype=np.float64).reshape(-1, 4)):
        if (x1 - x0 + y1 - y0) / 2 < min_face:
            continue
        ix0, iy0 = max(0, round(x0)), max(0, round(y0))
        ix1, iy1 = min(w, round(x1)), min(h, round(y1))
        if ix1 <= ix0 or iy1 <= iy0:
            continue
        kps = None
        if keypoints is not None:
            kps = tuple((float(x), float(y)) for x, y in keypoints[i])
        score = None if scores is None else float(scores[i])
        faces.append(FoundFace(Box(ix0, iy0, ix1 - ix0, iy1 - iy0), score, kps))
    return sorted(faces, key=lambda f: -f.box.area)


def suppress(faces: list[FoundFace], threshold: float = 0.3) -> list[FoundFace]:
    """Drops faces overlapping a larger kept one (windows of near faces can overlap)."""
    kept: list[FoundFace] = []
    for face in faces:
        if all(face.box.iou(k.box) < threshold for k in kept):
            kept.append(face)
    return kept


def eye_roll(keypoints: Sequence[Sequence[float]] | None) -> float:
    """Roll of a face in degrees from its two eye keypoints (0 when level or unknown).

    Positive when the eye on the image's right is lower (y grows downwards), i.e. the face
    is turned clockwise as seen in the image.
    """
    if keypoints is None or len(keypoints) < 2:
        return 0.0
    (x0, y0), (x1, y1) = keypoints[0], keypoints[1]
    if x1 < x0:
        x0, y0, x1, y1 = x1, y1, x0, y0
    if x1 == x0 and y1 == y0:
        return 0.0
    return math.degrees(math.atan2(y1 - y0, x1 - x0))


def crop_faces(
    gray: np.ndarray,
    boxes: Sequence[Box],
    size: tuple[int, int],
    margin: float,
    rolls: Sequence[float] | None = None,
) -> np.ndarray:
    """Crops each box plus ``margin`` per side, resized to ``size`` (h, w): (N, h, w) uint8.

    Parts of a widened box outside the image are filled by replicating the border. With
    ``rolls`` (degrees, as from ``eye_roll``), each crop is rotated about the box centre by
    its roll first, so the eyes come out level.

    Raises:
        InvalidImageError: a box lies outside the image.
    """
    out = np.empty((len(boxes), size[0], size[1]), dtype=np.uint8)
    h, w = gray.shape
    for i, box in enumerate(boxes):
        roll = rolls[i] if rolls is not None else 0.0
        if abs(roll) >= 1.0:
            out[i] = _rotated_crop(gray, box, size, margin, roll)
            continue
        mx, my = round(box.w * margin), round(box.h * margin)
        x0, y0, x1, y1 = box.x - mx, box.y - my, box.x + box.w + mx, box.y + box.h + my
        crop = gray[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)]
        if crop.size == 0:
            raise InvalidImageError(f"box {tuple(box)} lies outside the {w}x{h} image")
        pads = (max(0, -y0), max(0, y1 - h), max(0, -x0), max(0, x1 - w))
        if any(pads):
            crop = cv2.copyMakeBorder(crop, *pads, cv2.BORDER_REPLICATE)
        interp = cv2.INTER_AREA if crop.shape[0] > size[0] else cv2.INTER_LINEAR
        out[i] = cv2.resize(crop, (size[1], size[0]), interpolation=interp)
    return out


def _rotated_crop(
    gray: np.ndarray, box: Box, size: tuple[int, int], margin: float, roll: float
) -> np.ndarray:
    """The box plus margin, rotated by ``-roll`` about its centre, at ``size``."""
    h, w = gray.shape
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    half_w, half_h = box.w * (0.5 + margin), box.h * (0.5 + margin)
    reach = math.ceil(math.hypot(half_w, half_h)) + 2
    x0, y0, x1, y1 = round(cx) - reach, round(cy) - reach, round(cx) + reach, round(cy) + reach
    crop = gray[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)]
    if crop.size == 0:
        raise InvalidImageError(f"box {tuple(box)} lies outside the {w}x{h} image")
    pads = (max(0, -y0), max(0, y1 - h), max(0, -x0), max(0, x1 - w))
    if any(pads):
        crop = cv2.copyMakeBorder(crop, *pads, cv2.BORDER_REPLICATE)
    ccx, ccy = cx - x0, cy - y0
    # Shrink big crops first (area averaging), so the warp only rotates and scales ~1-2x.
    shrink = min(1.0, 2.0 * size[1] / (2 * half_w))
    if shrink < 1.0:
        crop = cv2.resize(crop, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
        ccx, ccy, half_w, half_h = ccx * shrink, ccy * shrink, half_w * shrink, half_h * shrink
    # Output pixel (u, v) samples the crop at centre + R(roll) @ (scaled offset from middle).
    sx, sy = 2 * half_w / size[1], 2 * half_h / size[0]
    c, s = math.cos(math.radians(roll)), math.sin(math.radians(roll))
    ou, ov = (size[1] - 1) / 2, (size[0] - 1) / 2
    m = np.array(
        [
            [c * sx, -s * sy, ccx - 0.5 - (c * sx * ou - s * sy * ov)],
            [s * sx, c * sy, ccy - 0.5 - (s * sx * ou + c * sy * ov)],
        ]
    )
    return cv2.warpAffine(
        crop,
        m,
        (size[1], size[0]),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
