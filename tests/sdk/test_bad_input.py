"""Every bad input gets a clear InvalidImageError, including arbitrary arrays (hypothesis)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from moodlens import EmotionDetector, InvalidImageError, MoodlensError, OptionsError


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
    ("boxes", "message"),
    [
        ([(1000, 1000, 10, 10)], "does not overlap the 512x512 image"),
        ([(-(10**9), 0, 10**9, 10)], "does not overlap"),
        ([(0, 0, 0, 10)], "positive width and height"),
        ([(0, 0, -5, 10)], "positive width and height"),
        ([(0, 0, 10**9, -1)], "positive width and height"),
        ([("a", 0, 1, 1)], "four integers"),
        ([(0, 0, float("inf"), 10)], "four integers"),
        ([(0, 0, float("nan"), 10)], "four integers"),
        ([(1, 2, 3)], "four integers"),
        ((10, 20, 30, 40), r"boxes=\[\(x, y, w, h\)\]"),
    ],
)
def test_bad_boxes(detector, sample_bgr, boxes, message):
    with pytest.raises(InvalidImageError, match=message):
        detector.detect(sample_bgr, boxes=boxes)


@pytest.mark.parametrize(
    ("box", "clipped"),
    [
        ((0, 0, 20000, 20000), (0, 0, 64, 64)),
        ((0, 0, 10**9, 10**9), (0, 0, 64, 64)),
        ((-(10**9), -(10**9), 2 * 10**9, 2 * 10**9), (0, 0, 64, 64)),
        ((40, 30, 10**9, 10), (40, 30, 24, 10)),
        ((-5, -7, 20, 30), (0, 0, 15, 23)),
    ],
)
def test_boxes_larger_than_the_image_are_clipped_to_it(detector, box, clipped):
    """Once a 3 s, 515 MB border copy (20000 px) or a cv2.error (10**9): now the image's cost."""
    image = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    (face,) = detector.detect(image, boxes=[box])
    (expected,) = detector.detect(image, boxes=[clipped])
    assert face.box == clipped
    assert face.scores == expected.scores


@pytest.mark.parametrize("threads", ["2", 0, -1, 1.5, True, [2]])
def test_bad_threads_say_what_works(threads):
    with pytest.raises(OptionsError, match=r"threads must be a positive integer.*threads=2"):
        EmotionDetector(threads=threads)


def test_options_error_is_a_moodlens_error_and_a_value_error():
    assert issubclass(OptionsError, MoodlensError) and issubclass(OptionsError, ValueError)


@pytest.mark.parametrize(
    ("crops", "message"),
    [
        (None, "crops is None.*use detect"),
        ("photo.jpg", "crops is a path.*use detect.*classify\\(\\[image\\]\\)"),
        (Path("photo.jpg"), "crops is a path.*use detect"),
        (b"\xff\xd8\xff", "crops is encoded bytes.*use detect"),
        (42, "crops is a int.*list of face images"),
    ],
)
def test_classify_says_what_it_takes(detector, crops, message):
    with pytest.raises(InvalidImageError, match=message):
        detector.classify(crops)


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
