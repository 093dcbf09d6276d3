"""Face finding with OpenCV's frontal Haar cascade (Viola-Jones), thread-safe.

``cv2.CascadeClassifier`` is not safe to share between threads, so each thread
gets its own (loading one takes a few milliseconds).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ._errors import FaceDetectorError
from ._types import Box

# alt2 over default: same recall on FER2013 faces, no false positives on non-face images
# (benchmarks/bench_face_finder.py).
CASCADE_FILE = "haarcascade_frontalface_alt2.xml"


def cascade_path() -> Path:
    """The frontal-face cascade shipped with opencv-python(-headless) 4.x.

    Raises:
        FaceDetectorError: the installed OpenCV has no cascades (OpenCV 5 wheels).
    """
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if (
        not hasattr(cv2, "CascadeClassifier")
        or not folder
        or not (Path(folder) / CASCADE_FILE).is_file()
    ):
        raise FaceDetectorError(
            f"the installed OpenCV {cv2.__version__} has no Haar cascade face detector "
            "(OpenCV 5 wheels dropped cv2.CascadeClassifier and the cascade files). "
            "Install OpenCV 4: pip install 'opencv-python-headless>=4.8,<5' "
            "(and uninstall other opencv-python packages first)."
        )
    return Path(folder) / CASCADE_FILE


@dataclass(frozen=True, slots=True)
class FaceFinderOptions:
    """Haar-cascade settings.

    Attributes:
        scale_factor: image pyramid step; smaller finds more faces, slower.
        min_neighbors: overlapping hits needed to keep a face; higher, fewer false faces.
        min_face: smallest face side in pixels of the original image.
        max_side: frames larger than this (longer side) are downscaled for detection.
        search_margin: tracking windows extend a known box by this fraction on each side.
    """

    scale_factor: float = 1.1
    min_neighbors: int = 4
    min_face: int = 32
    max_side: int = 480
    search_margin: float = 0.5

    def __post_init__(self) -> None:
        if not self.scale_factor > 1.0:
            raise ValueError(f"scale_factor must be > 1.0, got {self.scale_factor}")
        if self.min_neighbors < 0 or self.min_face < 8 or self.max_side < 64:
            raise ValueError(
                "min_neighbors must be >= 0, min_face >= 8 and max_side >= 64; got "
                f"{self.min_neighbors}, {self.min_face}, {self.max_side}"
            )
        if self.search_margin < 0:
            raise ValueError(f"search_margin must be >= 0, got {self.search_margin}")


class FaceFinder:
    """Finds frontal faces in gray images; one instance may be shared by threads.

    Raises:
        FaceDetectorError: at creation, when OpenCV has no usable cascade.
    """

    def __init__(self, options: FaceFinderOptions | None = None) -> None:
        self.options = options or FaceFinderOptions()
        self._path = str(cascade_path())
        self._local = threading.local()
        self._classifier()  # fail at creation, not on the first frame

    def _classifier(self) -> cv2.CascadeClassifier:
        classifier = getattr(self._local, "classifier", None)
        if classifier is None:
            classifier = cv2.CascadeClassifier(self._path)
            if classifier.empty():
                raise FaceDetectorError(
                    f"OpenCV could not load the cascade {self._path}; "
                    "reinstall opencv-python-headless 4.x."
                )
            self._local.classifier = classifier
        return classifier

    def _run(self, gray: np.ndarray, min_side: float, max_side: float | None = None) -> np.ndarray:
        opts = self.options
        min_px = max(20, int(min_side))
        max_px = int(max_side) if max_side else 0  # 0: no upper bound
        found = self._classifier().detectMultiScale(
            gray,
            scaleFactor=opts.scale_factor,
            minNeighbors=opts.min_neighbors,
            minSize=(min_px, min_px),
            maxSize=(max_px, max_px),
        )
        return np.asarray(found, dtype=np.float64).reshape(-1, 4)

    def find(self, gray: np.ndarray) -> list[Box]:
        """All faces in an HxW uint8 image, largest first."""
        h, w = gray.shape
        scale = min(1.0, self.options.max_side / max(h, w))
        small = (
            gray
            if scale == 1.0
            else cv2.resize(
                gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
            )
        )
        found = self._run(small, self.options.min_face * scale) / scale
        return _sorted_boxes(found, w, h)

    def find_near(self, gray: np.ndarray, near: Sequence[Box]) -> list[Box]:
        """Faces in windows around known boxes only: the cheap path for tracking."""
        h, w = gray.shape
        found: list[np.ndarray] = []
        for box in near:
            pad_x, pad_y = box.w * self.options.search_margin, box.h * self.options.search_margin
            x0, y0 = max(0, int(box.x - pad_x)), max(0, int(box.y - pad_y))
            x1, y1 = min(w, int(box.x + box.w + pad_x)), min(h, int(box.y + box.h + pad_y))
            if x1 - x0 < 24 or y1 - y0 < 24:
                continue
            window = gray[y0:y1, x0:x1]
            # Shrink big windows so the face is ~80 px: the cascade needs no more.
            scale = min(1.0, 80.0 / max(box.w, box.h))
            if scale < 1.0:
                window = cv2.resize(
                    window,
                    (max(24, round((x1 - x0) * scale)), max(24, round((y1 - y0) * scale))),
                    interpolation=cv2.INTER_AREA,
                )
            side = max(box.w, box.h) * scale
            hits = self._run(window, side / 1.5, side * 1.5) / scale
            hits[:, 0] += x0
            hits[:, 1] += y0
            found.append(hits)
        boxes = _sorted_boxes(np.concatenate(found) if found else np.zeros((0, 4)), w, h)
        return _suppress(boxes)


def _sorted_boxes(found: np.ndarray, w: int, h: int) -> list[Box]:
    boxes = []
    for x, y, bw, bh in found:
        x0, y0 = max(0, round(x)), max(0, round(y))
        x1, y1 = min(w, round(x + bw)), min(h, round(y + bh))
        if x1 > x0 and y1 > y0:
            boxes.append(Box(x0, y0, x1 - x0, y1 - y0))
    return sorted(boxes, key=lambda b: -b.area)


def _suppress(boxes: list[Box], threshold: float = 0.3) -> list[Box]:
    """Drops boxes overlapping a larger kept one (windows of near faces can overlap)."""
    kept: list[Box] = []
    for box in boxes:
        if all(box.iou(k) < threshold for k in kept):
            kept.append(box)
    return kept


def crop_faces(
    gray: np.ndarray, boxes: Sequence[Box], size: tuple[int, int], margin: float
) -> np.ndarray:
    """Crops each box plus ``margin`` per side, resized to ``size`` (h, w): (N, h, w) uint8.

    Parts of a widened box outside the image are filled by replicating the border.
    """
    out = np.empty((len(boxes), size[0], size[1]), dtype=np.uint8)
    h, w = gray.shape
    for i, box in enumerate(boxes):
        mx, my = round(box.w * margin), round(box.h * margin)
        x0, y0, x1, y1 = box.x - mx, box.y - my, box.x + box.w + mx, box.y + box.h + my
        crop = gray[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)]
        if crop.size == 0:
            raise ValueError(f"box {tuple(box)} lies outside the {w}x{h} image")
        pads = (max(0, -y0), max(0, y1 - h), max(0, -x0), max(0, x1 - w))
        if any(pads):
            crop = cv2.copyMakeBorder(crop, *pads, cv2.BORDER_REPLICATE)
        interp = cv2.INTER_AREA if crop.shape[0] > size[0] else cv2.INTER_LINEAR
        out[i] = cv2.resize(crop, (size[1], size[0]), interpolation=interp)
    return out
