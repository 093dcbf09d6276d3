"""EmotionDetector: faces and their emotion scores from an image, on device."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ._errors import InvalidImageError, ModelError
from ._faces import FaceFinder, FaceFinderOptions, crop_faces
from ._image import ImageLike, to_gray
from ._model import EmotionModel, ModelInfo
from ._types import EMOTIONS, Box, Face

logger = logging.getLogger(__name__)


class EmotionDetector:
    """Finds faces (OpenCV Haar cascade) and scores their emotions (ONNX Runtime).

    One detector may be used from several threads at once.

    Args:
        model: path of a moodlens ``.onnx`` model; None for the bundled one.
        providers: ONNX Runtime execution providers, passed through (default CPU).
        threads: ONNX Runtime intra-op threads, passed through.
        face_options: Haar-cascade settings (scale factor, neighbours, sizes).

    Raises:
        ModelError: the model is missing, unreadable or not self-describing.
        FaceDetectorError: the installed OpenCV has no Haar cascades (OpenCV 5).

    Example:
        >>> from moodlens import EmotionDetector
        >>> with EmotionDetector() as detector:
        ...     for face in detector.detect("photo.jpg"):
        ...         print(face.box, face.emotion.value, round(face.confidence, 2))
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        providers: Sequence[Any] | None = None,
        threads: int | None = None,
        face_options: FaceFinderOptions | None = None,
    ) -> None:
        self._model: EmotionModel | None = EmotionModel(model, providers=providers, threads=threads)
        self._finder = FaceFinder(face_options)

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        """Releases the ONNX Runtime session; safe to call twice."""
        self._model = None

    def __enter__(self) -> EmotionDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _live_model(self) -> EmotionModel:
        if self._model is None:
            raise ModelError("this EmotionDetector is closed; create a new one.")
        return self._model

    @property
    def info(self) -> ModelInfo:
        """The model's self-description: labels, input size, version, accuracy..."""
        return self._live_model.info

    # -- the work ----------------------------------------------------------------------------
    def find_faces(
        self, image: ImageLike, *, near: Sequence[Box] | None = None, rgb: bool = False
    ) -> list[Box]:
        """Face boxes in an image, largest first, without classifying them.

        Args:
            image: as for ``detect``.
            near: known boxes (e.g. from the previous frame); only windows around them
                are searched, which is much cheaper than the whole frame.
            rgb: colour arrays are RGB rather than BGR.

        Raises:
            InvalidImageError: the image cannot be used.
        """
        gray = to_gray(image, rgb=rgb)
        if near is not None:
            return self._finder.find_near(gray, [Box(*b) for b in near])
        return self._finder.find(gray)

    def detect(
        self,
        image: ImageLike,
        *,
        boxes: Sequence[Box | Sequence[int]] | None = None,
        rgb: bool = False,
    ) -> list[Face]:
        """Faces in an image with their emotion scores, largest face first.

        Args:
            image: HxWx3 BGR (or RGB with ``rgb=True``) or HxW gray uint8 array, a path
                of an image file, or encoded image bytes.
            boxes: known face boxes (x, y, w, h): skips face detection.
            rgb: colour arrays are RGB rather than OpenCV's BGR.

        Returns:
            One Face per face found; an empty list when there is none.

        Raises:
            InvalidImageError: the image cannot be used, or a box lies outside it.
        """
        model = self._live_model
        gray = to_gray(image, rgb=rgb)
        if boxes is None:
            found = self._finder.find(gray)
        else:
            found = [_checked_box(b, gray.shape) for b in boxes]
        if not found:
            return []
        crops = crop_faces(gray, found, model.info.input_size, model.info.crop_margin)
        scores = model.run(crops)
        return [
            Face(box, dict(zip(EMOTIONS, map(float, row), strict=True)))
            for box, row in zip(found, scores, strict=True)
        ]

    def classify(self, crops: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Emotion scores of face crops, without face detection.

        Args:
            crops: (N, H, W) or (N, H, W, 1) uint8 gray faces, or a list of face images
                (gray or BGR uint8, any size); each is resized to the model's input.

        Returns:
            (N, 7) float32 scores, columns in ``list(Emotion)`` order, rows summing to 1.

        Raises:
            InvalidImageError: crops of the wrong dtype or shape.
        """
        model = self._live_model
        h, w = model.info.input_size
        if isinstance(crops, np.ndarray):
            if crops.dtype != np.uint8:
                raise InvalidImageError(f"crops dtype is {crops.dtype}; expected uint8.")
            if crops.ndim == 4 and crops.shape[3] == 1:
                crops = crops[..., 0]
            if crops.ndim != 3:
                raise InvalidImageError(
                    f"crops shape is {crops.shape}; expected (N, H, W) or "
                    "(N, H, W, 1) gray uint8, or a list of images."
                )
            if crops.shape[1:] == (h, w):
                return model.run(np.ascontiguousarray(crops))
        images = [to_gray(c) for c in crops]
        if not images:
            return model.run(np.zeros((0, h, w), dtype=np.uint8))
        resized = np.stack(
            [
                c
                if c.shape == (h, w)
                else cv2.resize(
                    c, (w, h), interpolation=cv2.INTER_AREA if c.shape[0] > h else cv2.INTER_LINEAR
                )
                for c in images
            ]
        )
        return model.run(resized)


def _checked_box(box: Box | Sequence[int], shape: tuple[int, ...]) -> Box:
    try:
        b = Box(*(int(v) for v in box))
    except (TypeError, ValueError):
        raise InvalidImageError(f"box {box!r} must be four integers (x, y, w, h).") from None
    h, w = shape[:2]
    if b.w <= 0 or b.h <= 0 or b.x >= w or b.y >= h or b.x + b.w <= 0 or b.y + b.h <= 0:
        raise InvalidImageError(f"box {tuple(b)} does not overlap the {w}x{h} image.")
    return b
