"""Input validation: turns what users pass (arrays, paths, encoded bytes) into gray uint8."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ._errors import InvalidImageError

ImageLike = Any  # np.ndarray | str | os.PathLike | bytes


def _decode(data: bytes, where: str) -> np.ndarray:
    if not data:
        raise InvalidImageError(f"{where} is empty; pass the bytes of a JPEG, PNG or BMP image.")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InvalidImageError(
            f"{where} is not an image OpenCV can decode; pass a JPEG, PNG, BMP or TIFF file."
        )
    return image


def load_image(image: ImageLike) -> tuple[np.ndarray, bool]:
    """Returns (array, decoded) for a path, encoded bytes or an array; decoded images are BGR.

    Raises:
        InvalidImageError: None, an unreadable path, or bytes that are not an image.
    """
    if image is None:
        raise InvalidImageError(
            "image is None; pass an HxWx3 BGR or HxW gray uint8 array, "
            "or the path of an image file."
        )
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        if not path.is_file():
            raise InvalidImageError(f"image file {str(path)!r} does not exist or is not a file.")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidImageError(
                f"image file {str(path)!r} cannot be read: {exc.strerror}."
            ) from None
        return _decode(data, f"file {str(path)!r}"), True
    if isinstance(image, (bytes, bytearray, memoryview)):
        return _decode(bytes(image), "the image bytes"), True
    if isinstance(image, np.ndarray):
        return image, False
    raise InvalidImageError(
        f"image is a {type(image).__name__}; pass a numpy uint8 array "
        "(HxWx3 BGR, HxWx4 BGRA or HxW gray), a path, or encoded bytes."
    )


def to_gray(image: ImageLike, *, rgb: bool = False) -> np.ndarray:
    """Validates an image and returns it as a contiguous HxW gray uint8 array.

    Args:
        image: HxWx3 (BGR, or RGB with ``rgb=True``), HxWx4, HxWx1 or HxW uint8 array;
            a path; or encoded image bytes.
        rgb: the array's channels are RGB(A) rather than OpenCV's BGR(A).

    Raises:
        InvalidImageError: what was wrong and what to pass instead.
    """
    array, decoded = load_image(image)
    if array.size == 0:
        raise InvalidImageError(f"image is empty (shape {array.shape}); pass a non-empty image.")
    if array.dtype != np.uint8:
        if decoded and array.dtype == np.uint16:
            array = (array >> 8).astype(np.uint8)
        else:
            hint = (
                " Scale floats in [0, 1] with (img * 255).astype(np.uint8)."
                if np.issubdtype(array.dtype, np.floating)
                else ""
            )
            raise InvalidImageError(f"image dtype is {array.dtype}; expected uint8.{hint}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        return np.ascontiguousarray(array)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise InvalidImageError(
            f"image shape is {array.shape}; expected HxW (gray), HxWx3 "
            "(BGR or RGB) or HxWx4 (with alpha)."
        )
    swap = rgb and not decoded
    code = {
        3: cv2.COLOR_RGB2GRAY if swap else cv2.COLOR_BGR2GRAY,
        4: cv2.COLOR_RGBA2GRAY if swap else cv2.COLOR_BGRA2GRAY,
    }[array.shape[2]]
    return cv2.cvtColor(np.ascontiguousarray(array), code)
