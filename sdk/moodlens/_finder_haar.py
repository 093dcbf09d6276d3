"""Face finding with OpenCV's frontal Haar cascade (Viola-Jones), thread-safe.

``cv2.CascadeClassifier`` is not safe to share between threads, so each thread
gets its own (loading one takes a few milliseconds). Its box is the canonical face box
(identity framing): the emotion model's crop margin was measured against it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ._errors import FaceDetectorError
from ._faces import FaceFinderOptions, FoundFace, Framing, as_gray, boxes_to_faces, suppress
from ._types import Box

__all__ = ["CASCADE_FILE", "HaarFaceFinder", "cascade_path"]

# alt2 over default: same recall on FER2013 faces, no false positives on non-face images
# (benchmarks/bench_face_finder.py).
CASCADE_FILE = "haarcascade_frontalface_alt2.xml"
#: The cascade's detection window: faces smaller than this at the searched scale are missed.
WINDOW = 20


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
            "(and uninstall other opencv-python packages first), or use "
            "face_finder='blazeface'."
        )
    return Path(folder) / CASCADE_FILE


class HaarFaceFinder:
    """Finds frontal faces with the Haar cascade; one instance may be shared by threads.

    Args:
        options: scale factor, neighbours, sizes; ``min_face`` is in pixels of the frame.

    Raises:
        FaceDetectorError: at creation, when OpenCV has no usable cascade.
    """

    name = "haar"
    framing = Framing()

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
        min_px = max(WINDOW, int(min_side))
        max_px = int(max_side) if max_side else 0  # 0: no upper bound
        found = self._classifier().detectMultiScale(
            gray,
            scaleFactor=opts.scale_factor,
            minNeighbors=opts.min_neighbors,
            minSize=(min_px, min_px),
            maxSize=(max_px, max_px),
        )
        return np.asarray(found, dtype=np.float64).reshape(-1, 4)

    def scale_for(self, shape: tuple[int, ...]) -> float:
        """The downscale applied to a frame: down to ``max_side``, but never so far that a
        face of ``min_face`` pixels drops below the cascade's window."""
        h, w = shape[:2]
        min_face = self.options.resolved_min_face(w, h)
        return min(1.0, max(self.options.max_side / max(h, w), WINDOW / min_face))

    def find(self, frame: np.ndarray) -> list[FoundFace]:
        """All faces of at least ``min_face`` pixels in a decoded frame, largest first."""
        gray = as_gray(frame)
        h, w = gray.shape
        scale = self.scale_for(gray.shape)
        small = (
            gray
            if scale == 1.0
            else cv2.resize(
                gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
            )
        )
        found = self._run(small, self.options.resolved_min_face(w, h) * scale) / scale
        return _faces(found, gray.shape)

    def find_near(self, frame: np.ndarray, near: Sequence[Box]) -> list[FoundFace]:
        """Faces in windows around known boxes only: the cheap path for tracking."""
        gray = as_gray(frame)
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
            low = max(side / 1.5, self.options.resolved_min_face(w, h) * scale)
            hits = self._run(window, low, side * 1.5) / scale
            hits[:, 0] += x0
            hits[:, 1] += y0
            found.append(hits)
        return suppress(_faces(np.concatenate(found) if found else np.zeros((0, 4)), gray.shape))

    def confirms(self, frame: np.ndarray, box: Box, roll: float = 0.0) -> bool:
        """Whether the cascade finds a face of about ``box``'s size (2/3-3/2 of it) in a
        window twice its side around it, after rotating the window by ``roll`` degrees
        (as from ``FoundFace.roll``) so that a rolled face stands upright. The window is
        scaled so the face is at most 80 px: a second opinion costs about a millisecond.
        """
        side = float(max(box.w, box.h))
        if side <= 0:
            return False
        scale = min(1.0, 80.0 / side)
        window = max(24, round(2 * side * scale))
        # Only the part of the frame the rotated window can reach goes gray (this runs per
        # candidate face, so never the whole frame); the border is replicated as before.
        h, w = frame.shape[:2]
        reach = math.ceil(1.5 * side) + 2  # half the window's diagonal, with room to spare
        cx, cy = box.x + box.w / 2, box.y + box.h / 2
        x0, y0 = max(0, round(cx) - reach), max(0, round(cy) - reach)
        x1, y1 = min(w, round(cx) + reach), min(h, round(cy) + reach)
        if x1 <= x0 or y1 <= y0:
            return False
        gray = as_gray(frame[y0:y1, x0:x1])
        cx, cy = cx - x0, cy - y0
        matrix = cv2.getRotationMatrix2D((cx, cy), roll, scale)
        matrix[0, 2] += window / 2 - cx
        matrix[1, 2] += window / 2 - cy
        levelled = cv2.warpAffine(
            gray,
            matrix,
            (window, window),
            flags=cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        face = side * scale
        return len(self._run(levelled, face / 1.5, face * 1.5)) > 0


def _faces(found: np.ndarray, shape: tuple[int, ...]) -> list[FoundFace]:
    xyxy = found.copy()
    xyxy[:, 2:] += xyxy[:, :2]
    return boxes_to_faces(xyxy, None, None, shape)
