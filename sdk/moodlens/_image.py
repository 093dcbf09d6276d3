"""Input validation and decoding: turns what users pass (arrays, paths, bytes) into gray uint8."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ._errors import InvalidImageError

ImageLike = Any  # np.ndarray | str | os.PathLike | bytes


def decode_image(source: str | os.PathLike[str] | bytes | bytearray | memoryview) -> np.ndarray:
    """Decodes an image file or encoded bytes into an upright HxWx3 BGR uint8 array.

    The one decoder of moodlens: ``detect()``, ``classify()`` and image-file sources all
    use it, so a photo gives the same faces whichever way it comes in. EXIF orientation is
    applied (a portrait phone photo stored sideways comes out upright), gray and 16-bit
    images become 8-bit BGR, and an alpha channel is dropped.

    Args:
        source: the path of an image file, or the encoded bytes of one.

    Returns:
        The decoded image, HxWx3 BGR uint8.

    Raises:
        InvalidImageError: the path does not exist or cannot be read, or the bytes are
            empty or not an image OpenCV can decode.

    Example:
        >>> image = decode_image("portrait.jpg")  # upright, whatever the camera stored
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        where = f"image file {str(path)!r}"
        if not path.is_file():
            raise InvalidImageError(f"{where} does not exist or is not a file.")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidImageError(f"{where} cannot be read: {exc.strerror}.") from None
    else:
        where, data = "the image bytes", bytes(source)
    if not data:
        raise InvalidImageError(f"{where} is empty; pass a JPEG, PNG, BMP or TIFF image.")
    # IMREAD_COLOR (not IMREAD_UNCHANGED) is what makes OpenCV apply EXIF orientation.
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise InvalidImageError(
            f"{where} cannot be decoded: not an image OpenCV can read; "
            "pass a JPEG, PNG, BMP or TIFF image."
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
    if isinstance(image, (str, os.PathLike, bytes, bytearray, memoryview)):
        return decode_image(image), True
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
