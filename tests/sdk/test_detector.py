"""EmotionDetector on the bundled model: golden results, shapes, options."""

from __future__ import annotations

import struct
import threading
import time

import cv2
import numpy as np
import pytest
from moodlens import Box, Emotion, EmotionDetector, Face, ModelError, open_source


def _with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """The JPEG with an APP1 Exif segment holding only the Orientation tag (0x0112)."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0)
    payload = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


# How a camera stores an upright picture for each EXIF orientation (the inverse of the tag).
_STORED = {
    1: lambda im: im,
    3: lambda im: cv2.rotate(im, cv2.ROTATE_180),
    6: lambda im: cv2.rotate(im, cv2.ROTATE_90_COUNTERCLOCKWISE),
    8: lambda im: cv2.rotate(im, cv2.ROTATE_90_CLOCKWISE),
}


def test_emotion_order_and_values():
    assert [e.name for e in Emotion] == [
        "ANGRY",
        "DISGUST",
        "FEAR",
        "HAPPY",
        "SAD",
        "SURPRISE",
        "NEUTRAL",
    ]
    assert Emotion.HAPPY.value == "happy"


def test_astronaut_is_one_happy_face(detector, sample_path):
    faces = detector.detect(sample_path)
    assert len(faces) == 1
    face = faces[0]
    assert face.emotion is Emotion.HAPPY
    # the face sits around (177, 66, 95, 95) in the 512x512 photo
    assert Box(177, 66, 95, 95).iou(face.box) > 0.6
    assert sum(face.scores.values()) == pytest.approx(1.0, abs=1e-5)
    assert face.confidence == max(face.scores.values())


def _png(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()


@pytest.mark.parametrize(
    "form",
    ["path", "str", "bgr", "gray", "rgb", "bgra", "bytes", "png-gray", "png-bgra", "png-16bit"],
)
def test_every_input_form_gives_the_same_face(detector, sample_path, sample_bgr, form):
    gray = cv2.cvtColor(sample_bgr, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(sample_bgr, cv2.COLOR_BGR2BGRA)
    image, kwargs = {
        "path": lambda: (sample_path, {}),
        "str": lambda: (str(sample_path), {}),
        "bgr": lambda: (sample_bgr, {}),
        "gray": lambda: (gray, {}),
        "rgb": lambda: (sample_bgr[:, :, ::-1].copy(), {"rgb": True}),
        "bgra": lambda: (bgra, {}),
        "bytes": lambda: (sample_path.read_bytes(), {}),
        "png-gray": lambda: (_png(gray), {}),
        "png-bgra": lambda: (_png(bgra), {}),
        "png-16bit": lambda: (_png(sample_bgr.astype(np.uint16) * 257), {}),
    }[form]()
    reference = detector.detect(sample_bgr)
    faces = detector.detect(image, **kwargs)
    assert reference and len(faces) == len(reference)
    if form in ("gray", "png-gray"):  # a colour face finder sees other pixels: close, not equal
        assert faces[0].box.iou(reference[0].box) > 0.9
        assert faces[0].emotion is reference[0].emotion
    else:  # the same BGR pixels, however they came in
        assert [f.box for f in faces] == [f.box for f in reference]
        np.testing.assert_allclose(
            list(faces[0].scores.values()), list(reference[0].scores.values()), atol=2e-3
        )


@pytest.mark.parametrize("orientation", sorted(_STORED))
def test_exif_orientation_is_applied_on_every_path(detector, sample_bgr, tmp_path, orientation):
    """A phone photo stored sideways with an orientation tag gives the upright face,
    through a path, bytes and an image-file source alike."""
    upright = np.ascontiguousarray(sample_bgr[:288, 112:496])  # the face; 288x384, not square
    stored = _STORED[orientation](upright)
    ok, encoded = cv2.imencode(".jpg", stored, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    data = _with_exif_orientation(encoded.tobytes(), orientation)
    path = tmp_path / f"portrait-{orientation}.jpg"
    path.write_bytes(data)
    reference = detector.detect(upright)
    assert reference and reference[0].emotion is Emotion.HAPPY
    frame = next(iter(open_source([path])))
    assert frame.image.shape == upright.shape
    for image in (path, str(path), data, frame.image):
        faces = detector.detect(image)
        assert len(faces) == len(reference), f"orientation {orientation}: {faces}"
        assert faces[0].emotion is Emotion.HAPPY
        for face, expected in zip(faces, reference, strict=True):
            assert face.box.iou(expected.box) > 0.8


def test_without_the_tag_a_sideways_photo_stays_sideways(sample_bgr, tmp_path):
    """The control for the test above: it is the tag that turns the picture."""
    upright = np.ascontiguousarray(sample_bgr[:288, 112:496])
    stored = _STORED[6](upright)
    ok, encoded = cv2.imencode(".jpg", stored)
    assert ok
    (tmp_path / "a-untagged.jpg").write_bytes(encoded.tobytes())
    (tmp_path / "b-tagged.jpg").write_bytes(_with_exif_orientation(encoded.tobytes(), 6))
    untagged, tagged = (f.image for f in open_source([tmp_path]))  # sorted by name
    assert untagged.shape == stored.shape == (384, 288, 3)
    assert tagged.shape == upright.shape == (288, 384, 3)


def test_no_face_is_an_empty_list(detector):
    assert detector.detect(np.full((240, 320, 3), 127, np.uint8)) == []


def test_known_boxes_skip_detection(detector, sample_bgr):
    found = detector.detect(sample_bgr)[0]
    boxes = detector.find_faces(sample_bgr)  # what a stream does: find, then score the boxes
    given = detector.detect(sample_bgr, boxes=[tuple(boxes[0])])
    assert given[0].box == found.box
    assert given[0].scores == pytest.approx(found.scores)
    assert detector.detect(sample_bgr, boxes=[]) == []


def test_large_frames_are_downscaled_and_boxes_mapped_back(detector, sample_bgr):
    big = cv2.resize(sample_bgr, (1536, 1536))
    faces = detector.detect(big)
    assert len(faces) == 1
    expected = Box(177 * 3, 66 * 3, 95 * 3, 95 * 3)
    assert expected.iou(faces[0].box) > 0.6


def test_find_faces_near_known_box(detector, sample_bgr):
    full = detector.find_faces(sample_bgr)
    near = detector.find_faces(sample_bgr, near=full)
    assert len(near) == 1 and near[0].iou(full[0]) > 0.7
    # a window with no face in it finds nothing
    assert detector.find_faces(sample_bgr, near=[Box(400, 400, 60, 60)]) == []


def test_classify_shapes_dtype_and_rows(detector):
    crops = np.random.default_rng(0).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    scores = detector.classify(crops)
    assert scores.shape == (5, 7) and scores.dtype == np.float32
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(detector.classify(crops[..., None]), scores, atol=1e-6)
    listed = detector.classify([c for c in crops])
    np.testing.assert_allclose(listed, scores, atol=1e-6)
    assert detector.classify(np.zeros((0, 48, 48), np.uint8)).shape == (0, 7)
    assert detector.classify([]).shape == (0, 7)


def test_classify_resizes_other_sizes(detector, sample_bgr):
    face = detector.detect(sample_bgr)[0]
    x, y, w, h = face.box
    crop = sample_bgr[y : y + h, x : x + w]
    scores = detector.classify([crop])
    assert Emotion(list(Emotion)[int(scores[0].argmax())]) is Emotion.HAPPY


@pytest.mark.parametrize("threads", [1, None])
def test_one_detector_many_threads_gives_identical_results(sample_bgr, threads):
    """Four threads share one detector (no lock around the model): every result is
    bit-for-bit the single-threaded one, for detect, detect with boxes and classify."""
    images = [sample_bgr, cv2.flip(sample_bgr, 1), cv2.resize(sample_bgr, (384, 384))]
    crops = np.random.default_rng(5).integers(0, 256, (70, 48, 48), dtype=np.uint8)
    with EmotionDetector(threads=threads) as detector:
        expected = [detector.detect(im) for im in images]
        expected_boxes = [detector.detect(im, boxes=[(100, 40, 200, 200)]) for im in images]
        expected_scores = detector.classify(crops)
        assert all(faces for faces in expected)
        mismatches: list[str] = []
        errors: list[BaseException] = []
        start = threading.Barrier(4)

        def work(seed: int) -> None:
            try:
                start.wait()
                for i in range(12):
                    k = (seed + i) % len(images)
                    if detector.detect(images[k]) != expected[k]:
                        mismatches.append(f"detect {k}")
                    if detector.detect(images[k], boxes=[(100, 40, 200, 200)]) != expected_boxes[k]:
                        mismatches.append(f"boxes {k}")
                    if not np.array_equal(detector.classify(crops), expected_scores):
                        mismatches.append("classify")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        workers = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
    assert not errors and not mismatches


def test_model_calls_from_threads_overlap(sample_bgr):
    """No lock serialises ONNX Runtime calls: a second thread's call starts while the first
    one's is still running (ONNX Runtime releases the GIL, so this holds on one core too)."""
    crops = np.random.default_rng(6).integers(0, 256, (32, 48, 48), dtype=np.uint8)
    with EmotionDetector(threads=1) as detector:
        session = detector._live_model._session
        run, guard = session.run, threading.Lock()
        state = {"now": 0, "most": 0}

        def counting_run(*args, **kwargs):
            with guard:
                state["now"] += 1
                state["most"] = max(state["most"], state["now"])
            try:
                return run(*args, **kwargs)
            finally:
                with guard:
                    state["now"] -= 1

        session.run = counting_run
        deadline = time.monotonic() + 20

        def work() -> None:
            while state["most"] < 2 and time.monotonic() < deadline:
                detector.classify(crops)

        workers = [threading.Thread(target=work) for _ in range(2)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
    assert state["most"] == 2


def test_model_info_is_read_from_metadata(detector):
    info = detector.info
    assert info.labels == tuple(Emotion)
    assert info.input_size == (48, 48)
    assert 0.0 <= info.crop_margin < 1.0
    assert info.accuracy is not None and 0.0 < info.accuracy <= 1.0


def test_closed_detector_says_so(sample_bgr):
    d = EmotionDetector(threads=1)
    d.close()
    d.close()  # safe twice
    with pytest.raises(ModelError, match="closed"):
        d.detect(sample_bgr)


def test_face_to_dict_is_json_ready(detector, sample_bgr):
    import json

    face = detector.detect(sample_bgr)[0]
    data = json.loads(json.dumps(face.to_dict()))
    assert data["emotion"] == "happy" and len(data["scores"]) == 7 and len(data["box"]) == 4
    assert isinstance(face, Face)
