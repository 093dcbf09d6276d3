"""EmotionDetector: faces and their emotion scores from an image, on device."""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ._errors import InvalidImageError, ModelError
from ._faces import (
    FaceFinder,
    FaceFinderOptions,
    FoundFace,
    as_gray,
    crop_faces,
    eye_roll,
    make_face_finder,
    to_frame,
)
from ._image import ImageLike, to_gray
from ._model import EmotionModel, ModelInfo
from ._types import EMOTIONS, Box, Face

logger = logging.getLogger(__name__)


class EmotionDetector:
    """Finds faces (BlazeFace or the Haar cascade) and scores their emotions (ONNX Runtime).

    One detector may be used from several threads at once, and they run in parallel
    (no lock around the model); for that, pass ``threads=1`` so each call keeps to one core.

    Args:
        model: path of a moodlens ``.onnx`` model; None for the bundled one.
        providers: ONNX Runtime execution providers, passed through (default CPU): a list,
            or one provider's name.
        threads: ONNX Runtime intra-op threads, passed through (a positive int, or None).
        face_finder: "blazeface" (the default: MediaPipe's BlazeFace on ONNX Runtime,
            the measured best variant), "blazeface-short", "blazeface-full", "haar"
            (OpenCV's Haar cascade, Viola-Jones), or your own ``FaceFinder``.
        face_options: face-finder settings: ``min_face`` (pixels of the original image),
            thresholds, tracking margin, eye alignment; Haar scale factor and neighbours.

    Raises:
        ModelError: the model is missing, unreadable or not self-describing.
        FaceDetectorError: the face finder cannot be created (no Haar cascades in
            OpenCV 5, an unreadable face-detector file).
        OptionsError: ``threads`` is not a positive integer, or an unknown ``face_finder``.

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
        face_finder: str | FaceFinder | None = None,
        face_options: FaceFinderOptions | None = None,
    ) -> None:
        if isinstance(providers, str):  # one name, not a sequence of one-letter names
            providers = [providers]
        self._model: EmotionModel | None = EmotionModel(model, providers=providers, threads=threads)
        self._finder = make_face_finder(face_finder, face_options, providers=providers)
        self._local = threading.local()  # the last faces found, per thread (see _found_for)

    @property
    def face_finder(self) -> FaceFinder:
        """The face finder in use (its ``options`` say min_face and the rest)."""
        return self._finder

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
        frame = to_frame(image, rgb=rgb)
        found = self._find(frame, near)
        if isinstance(image, np.ndarray):  # detect(image, boxes=these) reuses keypoints
            self._local.last = (weakref.ref(image), {f.box: f for f in found})
        return [f.box for f in found]

    def _found_for(self, image: ImageLike, box: Box) -> FoundFace:
        """The finder's face for a box ``find_faces`` just returned on this same array
        (score and keypoints), or a bare one."""
        last = getattr(self._local, "last", None)
        if last is not None and last[0]() is image and box in last[1]:
            return last[1][box]
        return FoundFace(box)

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
            boxes: known face boxes (x, y, w, h): skips face detection. Boxes are
                clipped to the image; each Face carries its clipped box. Boxes that
                ``find_faces`` just returned for this same array keep the finder's score
                and keypoints (so the crop is still eye-levelled).
            rgb: colour arrays are RGB rather than OpenCV's BGR.

        Returns:
            One Face per face found; an empty list when there is none.

        Raises:
            InvalidImageError: the image cannot be used, or a box lies outside it.
        """
        model = self._live_model
        frame = to_frame(image, rgb=rgb)
        if boxes is None:
            found = self._finder.find(frame)
        else:
            found = []
            for b in boxes:
                box = _checked_box(b, frame.shape)
                known = self._found_for(image, Box(*(int(v) for v in b)))
                found.append(known if known.box == box else FoundFace(box))
        return self._score(frame, found, model)

    def _find(self, frame: np.ndarray, near: Sequence[Box] | None = None) -> list[FoundFace]:
        """The finder's faces in a decoded frame: all, or those near known boxes."""
        if near is not None:
            return self._finder.find_near(frame, [Box(*b) for b in near])
        return self._finder.find(frame)

    def _score(
        self, frame: np.ndarray, found: Sequence[FoundFace], model: EmotionModel | None = None
    ) -> list[Face]:
        """Emotion scores of faces the finder found in a decoded frame (any thread)."""
        if not found:
            return []
        model = self._live_model if model is None else model
        align = getattr(self._finder.options, "align", False)
        rolls = [eye_roll(f.keypoints) for f in found] if align else None
        crops = crop_faces(
            as_gray(frame),
            [f.box for f in found],
            model.info.input_size,
            model.info.crop_margin,
            rolls,
        )
        scores = model.run(crops)
        return [
            Face(
                f.box,
                dict(zip(EMOTIONS, map(float, row), strict=True)),
                score=f.score,
                keypoints=f.keypoints,
            )
            for f, row in zip(found, scores, strict=True)
        ]

    def classify(self, crops: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Emotion scores of face crops, without face detection.

        Args:
            crops: (N, H, W) or (N, H, W, 1) uint8 gray faces, or a list of face images
                (gray or BGR uint8, any size); each is resized to the model's input.

        Returns:
            (N, 7) float32 scores, columns in ``list(Emotion)`` order, rows summing to 1.
            Any N works: crops go to the model in chunks, so memory does not grow with N.

        Raises:
            InvalidImageError: crops of the wrong dtype or shape, None, or a path or bytes
                (for a photo, use ``detect``).
        """
        model = self._live_model
        h, w = model.info.input_size
        _check_crops_container(crops)
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
        items = list(crops)
        scores = np.empty((len(items), len(EMOTIONS)), dtype=np.float32)
        step = model.chunk_size
        for start in range(0, len(items), step):  # decoded and resized a chunk at a time
            chunk = np.stack([_fitted(to_gray(c), h, w) for c in items[start : start + step]])
            scores[start : start + step] = model.run(chunk)
        return scores


def _check_crops_container(crops: object) -> None:
    if crops is None:
        raise InvalidImageError(
            "crops is None; pass face crops: an (N, H, W) uint8 array or a list of face "
            "images. To find the faces in a photo, use detect()."
        )
    if isinstance(crops, (str, os.PathLike, bytes, bytearray, memoryview)):
        what = "encoded bytes" if isinstance(crops, (bytes, bytearray, memoryview)) else "a path"
        raise InvalidImageError(
            f"crops is {what}, but classify() scores face crops you already have. To find "
            "and score the faces in a photo, use detect() with it; to score a whole image "
            "as one face, pass a list: classify([image])."
        )
    if not isinstance(crops, np.ndarray) and not hasattr(crops, "__iter__"):
        raise InvalidImageError(
            f"crops is a {type(crops).__name__}; pass an (N, H, W) uint8 array "
            "or a list of face images."
        )


def _fitted(gray: np.ndarray, h: int, w: int) -> np.ndarray:
    if gray.shape == (h, w):
        return gray
    interp = cv2.INTER_AREA if gray.shape[0] > h else cv2.INTER_LINEAR
    return cv2.resize(gray, (w, h), interpolation=interp)


def _checked_box(box: Box | Sequence[int], shape: tuple[int, ...]) -> Box:
    """The box clipped to the image, so a huge box costs no more than the image itself.

    Raises:
        InvalidImageError: not four integers, a non-positive size, or no overlap with the image.
    """
    if isinstance(box, (int, float, np.number)):
        raise InvalidImageError(
            f"boxes holds the number {box!r} where a box should be; boxes is a list of "
            "(x, y, w, h) boxes: for one box pass boxes=[(x, y, w, h)]."
        )
    try:
        b = Box(*(int(v) for v in box))
    except (TypeError, ValueError, OverflowError):
        raise InvalidImageError(
            f"box {box!r} must be four integers (x, y, w, h) in pixels of the image."
        ) from None
    h, w = shape[:2]
    if b.w <= 0 or b.h <= 0:
        raise InvalidImageError(
            f"box {tuple(b)} needs a positive width and height; boxes are (x, y, w, h)."
        )
    x0, y0 = max(b.x, 0), max(b.y, 0)
    x1, y1 = min(b.x + b.w, w), min(b.y + b.h, h)
    if x1 <= x0 or y1 <= y0:
        raise InvalidImageError(
            f"box {tuple(b)} does not overlap the {w}x{h} image; pass boxes (x, y, w, h) "
            "in pixels of this image."
        )
    return Box(x0, y0, x1 - x0, y1 - y0)
