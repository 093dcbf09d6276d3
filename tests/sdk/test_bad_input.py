"""Every bad input gets a clear InvalidImageError, including arbitrary arrays (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from moodlens import InvalidImageError, MoodlensError


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (None, "image is None"),
        (np.zeros((0, 0, 3), np.uint8), "empty"),
        (np.zeros((10, 0), np.uint8), "empty"),
        (np.zeros((64, 64, 3), np.float32), "dtype is float32.*255"),
        (np.zeros((64, 64), np.int32), "dtype is int32"),
        (np.zeros((64, 64, 2), np.uint8), r"shape is \(64, 64, 2\)"),
        (np.zeros((64, 64, 5), np.uint8), r"shape is \(64, 64, 5\)"),
        (np.zeros((2, 64, 64, 3), np.uint8), "shape is"),
        (np.zeros(64, np.uint8), "shape is"),
        ("does/not/exist.jpg", "does not exist"),
        (b"", "empty"),
        (b"not an image at all", "not an image"),
        (12345, "is a int"),
        ([[1, 2], [3, 4]], "is a list"),
    ],
)
def test_bad_images_say_what_was_wrong(detector, image, message):
    with pytest.raises(InvalidImageError, match=message):
        detector.detect(image)


def test_non_image_file(detector, tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("this is text, not a JPEG")
    with pytest.raises(InvalidImageError, match="not an image"):
        detector.detect(text)


def test_folder_is_not_an_image(detector, tmp_path):
    with pytest.raises(InvalidImageError, match="not a file"):
        detector.detect(tmp_path)


@pytest.mark.parametrize(
    "boxes",
    [[(1000, 1000, 10, 10)], [(0, 0, 0, 10)], [(0, 0, -5, 10)], [("a", 0, 1, 1)], [(1, 2, 3)]],
)
def test_bad_boxes(detector, sample_bgr, boxes):
    with pytest.raises(InvalidImageError, match="box"):
        detector.detect(sample_bgr, boxes=boxes)


@pytest.mark.parametrize(
    "crops",
    [
        np.zeros((2, 48, 48), np.float32),
        np.zeros((48, 48), np.uint8),
        np.zeros((2, 48, 48, 3), np.uint8),
    ],
)
def test_bad_crops(detector, crops):
    with pytest.raises(InvalidImageError):
        detector.classify(crops)


def test_errors_are_moodlens_errors_and_value_errors():
    assert issubclass(InvalidImageError, MoodlensError)
    assert issubclass(InvalidImageError, ValueError)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.uint8, np.uint16, np.int8, np.float32, np.float64, np.bool_]),
        shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=40),
    )
)
def test_any_array_gives_faces_or_a_clear_error(detector, array):
    """No array crashes the detector: it returns a list or raises InvalidImageError."""
    try:
        faces = detector.detect(array)
    except InvalidImageError as exc:
        assert "expected" in str(exc) or "empty" in str(exc) or "pass" in str(exc)
    else:
        assert isinstance(faces, list)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=2048))
def test_any_bytes_give_faces_or_a_clear_error(detector, data):
    try:
        assert isinstance(detector.detect(data), list)
    except InvalidImageError:
        pass
