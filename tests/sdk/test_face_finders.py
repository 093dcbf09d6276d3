"""The face-finder seam: BlazeFace (anchors, decoding, NMS against TFLite's outputs; small
faces in big frames; rotated faces; keypoints and eye alignment) and the Haar cascade."""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import pytest
from moodlens import Box, EmotionDetector, Face, FaceFinderOptions, MoodlensError, OptionsError
from moodlens._anchors import decode, ssd_anchors, weighted_nms
from moodlens._faces import FoundFace, Framing, crop_faces, eye_roll, make_face_finder, to_frame
from moodlens._finder_blazeface import (
    BlazeFaceFinder,
    _Model,
    blazeface_model_path,
)
from moodlens._finder_haar import HaarFaceFinder

REFERENCE = Path(__file__).resolve().parents[1] / "data/blazeface_reference.npz"
SIDES = {"short": 128, "full": 192}


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    path = resources.files("moodlens.samples").joinpath("astronaut.jpg")
    return cv2.imread(str(path))


@pytest.fixture(scope="module")
def reference():
    if not REFERENCE.is_file():
        pytest.skip("tests/data/blazeface_reference.npz missing (make_blazeface_reference.py)")
    return dict(np.load(REFERENCE))


def face_patch(astronaut: np.ndarray) -> np.ndarray:
    """The astronaut's head with a little context (her face is about 100 px in the photo)."""
    return astronaut[21:231, 135:315]


def scene(
    w: int, h: int, faces: list[tuple[int, int, int, float]], astronaut: np.ndarray, seed: int = 0
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """A textured w x h frame with the astronaut's head at (x, y) centres, face side ``side``
    pixels, rotated by ``angle`` degrees; returns the frame and the face centres."""
    rng = np.random.default_rng(seed)
    frame = cv2.resize(rng.integers(0, 255, (h // 40 + 2, w // 40 + 2, 3), dtype=np.uint8), (w, h))
    patch = face_patch(astronaut)
    centres = []
    for cx, cy, side, angle in faces:
        scale = side / 100.0  # the face inside the patch is ~100 px
        pw, ph = round(patch.shape[1] * scale), round(patch.shape[0] * scale)
        big = cv2.resize(patch, (pw, ph), interpolation=cv2.INTER_AREA)
        if angle:
            m = cv2.getRotationMatrix2D((pw / 2, ph / 2), angle, 1.0)
            big = cv2.warpAffine(big, m, (pw, ph), borderMode=cv2.BORDER_REFLECT)
        x0, y0 = cx - pw // 2, cy - ph // 2
        frame[y0 : y0 + ph, x0 : x0 + pw] = big
        centres.append((float(cx), float(cy)))
    return frame, centres


def found_near(faces, centre, tolerance: float) -> bool:
    return any(
        abs(f.box.x + f.box.w / 2 - centre[0]) < tolerance
        and abs(f.box.y + f.box.h / 2 - centre[1]) < tolerance
        for f in faces
    )


# -- anchors, decoding and NMS against the TFLite interpreter's outputs ------------------------
@pytest.mark.parametrize(
    ("variant", "count", "first", "last"),
    [
        ("short", 896, (4.0, 4.0), (120.0, 120.0)),
        ("full", 2304, (2.0, 2.0), (190.0, 190.0)),
    ],
)
def test_anchor_layout_is_mediapipes(variant, count, first, last):
    model = _Model(blazeface_model_path(variant), None, 1)
    anchors = model.anchors(SIDES[variant], SIDES[variant])
    assert anchors.shape == (count, 2)
    assert tuple(anchors[0]) == first and tuple(anchors[-1]) == last


def test_anchor_grid_grows_with_the_canvas():
    # A 256x128 canvas is two 128x128 inputs side by side: twice the anchors, same spacing.
    wide = ssd_anchors(256, 128, [8, 16, 16, 16])
    assert len(wide) == 2 * 896
    assert wide[:, 0].max() == 252.0 and wide[:, 1].max() == 124.0


@pytest.mark.parametrize("variant", ["short", "full"])
@pytest.mark.parametrize("frame", ["astronaut", "scene"])
def test_decoding_and_weighted_nms_match_the_reference(reference, variant, frame):
    key = f"{variant}_{frame}"
    side = SIDES[variant]
    model = _Model(blazeface_model_path(variant), None, 1)
    logits = reference[f"{key}_logits"]
    regressors = np.zeros((len(logits), 16), np.float32)
    regressors[reference[f"{key}_rows"]] = reference[f"{key}_regressors"]
    boxes, keypoints, scores = decode(regressors, logits, model.anchors(side, side))
    b, k, s = weighted_nms(boxes / side, keypoints / side, scores)
    expected = reference[f"{key}_expected"]
    # The public path (what the exporter's parity check uses) decodes the same way.
    public = BlazeFaceFinder(variant).decode_outputs(regressors, logits, side, side, threshold=0.5)
    np.testing.assert_allclose(public[0] / side, b, atol=1e-5)
    np.testing.assert_allclose(public[1] / side, k, atol=1e-5)
    np.testing.assert_allclose(public[2], s, atol=1e-6)
    assert len(b) == len(expected) >= 1
    np.testing.assert_allclose(b, expected[:, :2].reshape(-1, 4), atol=1e-5)
    np.testing.assert_allclose(k, expected[:, 2:], atol=1e-5)
    assert np.all(np.diff(s) <= 0) and np.all(s > 0.5)


@pytest.mark.parametrize("variant", ["short", "full"])
@pytest.mark.parametrize("frame", ["astronaut", "scene"])
def test_onnx_model_matches_the_tflite_interpreter(reference, variant, frame):
    key = f"{variant}_{frame}"
    model = _Model(blazeface_model_path(variant), None, 1)
    tensor = reference[f"{key}_canvas"][None].astype(np.float32) / 127.5 - 1.0
    regressors, logits = model.raw(tensor)
    rows = reference[f"{key}_rows"]
    np.testing.assert_allclose(regressors[rows], reference[f"{key}_regressors"], atol=0.02)
    np.testing.assert_allclose(logits, reference[f"{key}_logits"], atol=0.02)


def test_public_raw_path_finds_what_find_finds(astronaut):
    finder = BlazeFaceFinder("short", framing=Framing())
    tensor = finder.input_tensor(astronaut)
    side = finder.info.input_size
    assert tensor.shape == (1, side, side, 3) and tensor.dtype == np.float32
    assert -1.0 <= tensor.min() and tensor.max() <= 1.0
    regressors, logits = finder.raw_outputs(tensor)
    assert regressors.shape == (len(logits), 16) == (896, 16)
    boxes, keypoints, scores = finder.decode_outputs(regressors, logits, side, side)
    assert len(boxes) == 1 and keypoints.shape == (1, 6, 2) and scores[0] > 0.7
    scale = side / max(astronaut.shape[:2])
    (face,) = finder.find(astronaut)
    x0, y0, x1, y1 = boxes[0] / scale
    assert abs(face.box.x - x0) < 8 and abs(face.box.y + face.box.h - y1) < 8
    # One pass over the frame at its own size: candidates around the same face, no NMS.
    b, k, s = finder.candidates(astronaut, scale=0.5)
    assert len(b) >= 1 and np.all(s >= finder.info.score_threshold)
    centre = face.box.x + face.box.w / 2, face.box.y + face.box.h / 2
    assert np.all(np.abs((b[:, 0] + b[:, 2]) / 2 - centre[0]) < face.box.w / 2)


@pytest.mark.parametrize("angle", [-30.0, 30.0])
def test_haar_confirms_a_rolled_face_once_levelled(astronaut, angle):
    h, w = astronaut.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    rolled = cv2.warpAffine(astronaut, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
    (face,) = BlazeFaceFinder("short").find(rolled)
    assert face.roll == pytest.approx(-angle, abs=5.0)
    haar = HaarFaceFinder(FaceFinderOptions(min_neighbors=3, min_face=24, scale_factor=1.05))
    assert haar.confirms(rolled, face.box, face.roll)
    assert not haar.confirms(rolled, face.box, 0.0)  # the cascade alone misses it
    assert not haar.confirms(rolled, Box(10, 300, face.box.w, face.box.h), 0.0)  # no face there


def test_found_face_roll_is_the_eye_roll():
    face = FoundFace(Box(0, 0, 10, 10), 0.9, ((0.0, 0.0), (10.0, 10.0)) + ((0.0, 0.0),) * 4)
    assert face.roll == pytest.approx(45.0)
    assert FoundFace(Box(0, 0, 10, 10)).roll == 0.0


def test_scene_reference_holds_both_faces(reference):
    assert len(reference["short_scene_expected"]) == 2


# -- finding faces -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("w", "h", "sides"),
    [
        (1920, 1080, (60, 90, 120)),
        (4032, 3024, (60, 90, 120)),
    ],
)
def test_small_faces_in_big_frames(astronaut, w, h, sides):
    spots = [(w // 5, h // 3), (w // 2, 2 * h // 3), (4 * w // 5, h // 4)]
    faces = [(x, y, side, 0.0) for (x, y), side in zip(spots, sides, strict=True)]
    frame, centres = scene(w, h, faces, astronaut)
    finder = BlazeFaceFinder("short", FaceFinderOptions(min_face=56))
    found = finder.find(frame)
    for centre, side in zip(centres, sides, strict=True):
        assert found_near(found, centre, side / 3), (centre, side, [f.box for f in found])


def test_default_min_face_keeps_big_frames_cheap(astronaut):
    # min_face=None: a sixth of the shorter side (clamped); a 60 px face in 1080p is not sought.
    finder = BlazeFaceFinder("short")
    frame, _ = scene(1920, 1080, [(500, 500, 60, 0.0), (1400, 500, 200, 0.0)], astronaut)
    found = finder.find(frame)
    assert len(found) == 1 and found[0].box.w > 150
    assert len(finder.scales(1920, 1080)) <= 3


@pytest.mark.parametrize("angle", [-15.0, -8.0, 0.0, 8.0, 15.0])
def test_rotated_faces_are_found_with_their_roll(astronaut, angle):
    frame, centres = scene(640, 480, [(320, 240, 140, angle)], astronaut)
    faces = BlazeFaceFinder("short").find(frame)
    assert found_near(faces, centres[0], 40)
    # The photo's own face is tilted a little; the roll follows the rotation we added.
    level = eye_roll(
        BlazeFaceFinder("short")
        .find(scene(640, 480, [(320, 240, 140, 0.0)], astronaut)[0])[0]
        .keypoints
    )
    assert eye_roll(faces[0].keypoints) - level == pytest.approx(-angle, abs=4.0)


@pytest.mark.parametrize(
    ("finder", "min_face", "expected_sides"),
    [
        ("blazeface", 48, {70, 160}),
        ("blazeface", 110, {160}),
        ("haar", 48, {70, 160}),
        ("haar", 110, {160}),
    ],
)
def test_min_face_is_in_pixels_of_the_original_image(astronaut, finder, min_face, expected_sides):
    frame, centres = scene(1280, 720, [(300, 360, 70, 0.0), (900, 360, 160, 0.0)], astronaut)
    found = make_face_finder(finder, FaceFinderOptions(min_face=min_face)).find(frame)
    sides = {70: centres[0], 160: centres[1]}
    for side, centre in sides.items():
        assert found_near(found, centre, side / 3) == (side in expected_sides), (finder, side)


def blob_frame() -> np.ndarray:
    """A bright featureless disk with a dark halo on a gray background (like a cell in a
    microscope image): BlazeFace scores it a candidate."""
    rng = np.random.default_rng(0)
    frame = (80 + rng.normal(0, 4, (400, 400))).clip(0, 255).astype(np.uint8)
    cv2.circle(frame, (200, 200), 70, 250, -1)
    cv2.circle(frame, (200, 200), 76, 30, 6)
    return cv2.cvtColor(cv2.GaussianBlur(frame, (0, 0), 2), cv2.COLOR_GRAY2BGR)


def test_a_featureless_blob_is_a_candidate_but_not_a_face():
    frame = blob_frame()
    plain = BlazeFaceFinder("short", FaceFinderOptions(confirm=False, score_threshold=0.5))
    (candidate,) = plain.find(frame)  # the model alone takes it for a face
    assert BlazeFaceFinder.contrast(frame, candidate.box) < 0.1
    assert BlazeFaceFinder("short").find(frame) == []
    assert not BlazeFaceFinder("short").verify(frame, candidate)


def test_verify_weighs_second_opinions(astronaut):
    finder = BlazeFaceFinder("short")
    (face,) = finder.find(astronaut)
    assert BlazeFaceFinder.contrast(astronaut, face.box) > 0.12
    seen = finder.second_look(astronaut, face.box)
    assert seen > 0.5
    # The same face scoring low is kept on the strength of the full-range model and the
    # cascade; the same box over a face-free texture is not.
    weak = FoundFace(face.box, 0.6, face.keypoints)
    assert finder.verify(astronaut, weak)
    texture = cv2.resize(
        np.random.default_rng(1).integers(0, 255, (12, 12, 3), dtype=np.uint8),
        astronaut.shape[1::-1],
    )
    assert finder.second_look(texture, face.box) < seen - 0.3
    assert not finder.verify(texture, weak)
    # Outright above the evidence threshold; the model's score alone without confirm.
    assert finder.verify(texture, FoundFace(face.box, 0.9, face.keypoints))
    strict = BlazeFaceFinder("short", FaceFinderOptions(score_threshold=0.95))
    assert not strict.verify(astronaut, FoundFace(face.box, 0.6, face.keypoints))


@pytest.mark.parametrize("finder", ["blazeface", "blazeface-short", "blazeface-full", "haar"])
def test_each_finder_finds_the_astronaut(astronaut, finder):
    faces = make_face_finder(finder).find(astronaut)
    assert len(faces) == 1
    box = faces[0].box
    assert 150 < box.x + box.w / 2 < 300 and 60 < box.y + box.h / 2 < 200
    if finder == "haar":
        assert faces[0].score is None and faces[0].keypoints is None
    else:
        assert 0.5 < faces[0].score <= 1.0 and len(faces[0].keypoints) == 6


def test_near_search_follows_a_known_face_and_ignores_the_rest(astronaut):
    frame, centres = scene(1280, 720, [(300, 360, 120, 0.0), (900, 360, 120, 0.0)], astronaut)
    finder = BlazeFaceFinder("short")
    first = [f for f in finder.find(frame) if f.box.x < 640]
    near = finder.find_near(frame, [Box(*first[0].box)])
    assert len(near) == 1 and near[0].box.iou(first[0].box) > 0.6
    assert finder.find_near(frame, [Box(600, 100, 60, 60)]) == []


# -- crops: framing and eye alignment ------------------------------------------------------------
@pytest.mark.parametrize("roll", [-20.0, -10.0, 0.0, 10.0, 20.0])
def test_crop_levels_the_eyes(roll):
    # Two dark "eyes" on a light face, the line between them at ``roll`` degrees.
    gray = np.full((400, 400), 200, np.uint8)
    c, s = math.cos(math.radians(roll)), math.sin(math.radians(roll))
    eyes = [(200 - 40 * c, 200 - 40 * s), (200 + 40 * c, 200 + 40 * s)]
    for x, y in eyes:
        cv2.circle(gray, (round(x), round(y)), 6, 0, -1)
    assert eye_roll(eyes) == pytest.approx(roll, abs=1e-6)
    crop = crop_faces(gray, [Box(140, 140, 120, 120)], (96, 96), 0.0, [eye_roll(eyes)])[0]
    ys, xs = np.nonzero(crop < 100)
    left, right = ys[xs < 48].mean(), ys[xs >= 48].mean()
    assert abs(left - right) < 1.0
    assert abs((left + right) / 2 - 47.5) < 2.0  # rotated about the box centre


def test_eye_roll_is_independent_of_keypoint_order():
    assert eye_roll([(10, 10), (20, 20)]) == pytest.approx(45.0)
    assert eye_roll([(20, 20), (10, 10)]) == pytest.approx(45.0)
    assert eye_roll(None) == 0.0


# -- the detector, options and results -------------------------------------------------------------
@pytest.mark.parametrize(
    ("face_finder", "has_keypoints"), [(None, True), ("blazeface", True), ("haar", False)]
)
def test_detector_takes_the_finder_by_name(astronaut, face_finder, has_keypoints):
    with EmotionDetector(face_finder=face_finder, threads=1) as detector:
        faces = detector.detect(astronaut)
        assert len(faces) == 1 and faces[0].emotion.value == "happy"
        assert (faces[0].keypoints is not None) == has_keypoints
        data = faces[0].to_dict()
        assert set(data) >= {"score", "keypoints"}
        # find_faces + detect(boxes=...) on the same array keeps score and keypoints.
        boxes = detector.find_faces(astronaut)
        again = detector.detect(astronaut, boxes=boxes)
        assert again[0].keypoints == faces[0].keypoints and again[0].score == faces[0].score
        assert detector.detect(astronaut, boxes=[(10, 10, 50, 50)])[0].score is None


def test_detector_takes_a_finder_instance(astronaut):
    class OneBox:
        options = FaceFinderOptions()

        def __init__(self) -> None:
            self.shapes: list[tuple[int, ...]] = []

        def find(self, frame):
            self.shapes.append(frame.shape)
            return [FoundFace(Box(170, 70, 110, 110), 0.9)]

        def find_near(self, frame, near):
            return self.find(frame)

    finder = OneBox()
    faces = EmotionDetector(face_finder=finder).detect(astronaut)
    assert faces[0].box == Box(170, 70, 110, 110) and faces[0].score == 0.9
    assert finder.shapes == [(512, 512, 3)]  # colour reaches the finder


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"face_finder": "retinaface"}, "unknown face_finder"),
        ({"face_finder": 3}, "face_finder must be"),
        ({"face_finder": HaarFaceFinder(), "face_options": FaceFinderOptions()}, "face_options"),
    ],
)
def test_bad_finder_arguments_say_what_works(kwargs, message):
    with pytest.raises(OptionsError, match=message):
        EmotionDetector(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_face": 4},
        {"min_face": 30.5},
        {"score_threshold": 1.0},
        {"search_margin": -1},
        {"scale_factor": 1.0},
    ],
)
def test_options_out_of_range_are_options_errors(kwargs):
    with pytest.raises(OptionsError) as caught:
        FaceFinderOptions(**kwargs)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, MoodlensError)


def test_face_keeps_finder_score_and_keypoints_in_to_dict():
    scores = {
        "angry": 0.1,
        "disgust": 0,
        "fear": 0,
        "happy": 0.9,
        "sad": 0,
        "surprise": 0,
        "neutral": 0,
    }
    face = Face(Box(1, 2, 3, 4), scores, score=0.75, keypoints=[(1, 2)] * 6)
    data = face.to_dict()
    assert data["score"] == 0.75 and data["keypoints"] == [[1.0, 2.0]] * 6
    assert Face(Box(1, 2, 3, 4), scores).to_dict()["keypoints"] is None
    with pytest.raises(ValueError, match="score"):
        Face(Box(1, 2, 3, 4), scores, score=1.5)


@pytest.mark.parametrize(
    ("image", "rgb", "shape"),
    [
        (np.zeros((4, 5, 3), np.uint8), False, (4, 5, 3)),
        (np.zeros((4, 5, 4), np.uint8), True, (4, 5, 3)),
        (np.zeros((4, 5), np.uint8), False, (4, 5)),
        (np.zeros((4, 5, 1), np.uint8), False, (4, 5)),
    ],
)
def test_to_frame_keeps_colour(image, rgb, shape):
    assert to_frame(image, rgb=rgb).shape == shape


def test_rgb_frames_become_bgr():
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[..., 0] = 255  # red in RGB
    assert to_frame(rgb, rgb=True)[0, 0].tolist() == [0, 0, 255]


# -- the command line -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "has_keypoints"),
    [([], True), (["--face-finder", "haar"], False), (["--min-face", "60"], True)],
)
def test_detect_command_takes_the_face_finder(capsys, args, has_keypoints):
    import json

    from moodlens._cli import main

    sample = str(resources.files("moodlens.samples").joinpath("astronaut.jpg"))
    assert main(["detect", "--json", *args, sample]) == 0
    faces = json.loads(capsys.readouterr().out)[0]["faces"]
    assert len(faces) == 1 and (faces[0]["keypoints"] is not None) == has_keypoints


def test_detect_command_rejects_a_tiny_min_face(capsys):
    from moodlens._cli import main

    sample = str(resources.files("moodlens.samples").joinpath("astronaut.jpg"))
    assert main(["detect", "--min-face", "3", sample]) != 0
    assert "min_face must be at least 8" in capsys.readouterr().err


@pytest.mark.parametrize("rgb", [False, True])
def test_stream_hands_the_colour_frame_to_the_finder(astronaut, rgb):
    from moodlens import Frame, MoodStream, MoodStreamOptions

    seen: list[tuple[int, ...]] = []
    pixels: list[list[int]] = []

    class Recording(BlazeFaceFinder):
        def find(self, frame):
            seen.append(frame.shape)
            pixels.append(frame[0, 0].tolist())
            return super().find(frame)

        def find_near(self, frame, near):
            seen.append(frame.shape)
            return super().find_near(frame, near)

    image = astronaut[..., ::-1].copy() if rgb else astronaut
    detector = EmotionDetector(face_finder=Recording("short"), threads=1)
    stream = MoodStream([], options=MoodStreamOptions(rgb=rgb), detector=detector)
    reading, _ = stream.process(Frame(image, 0.0, 0))
    reading2, _ = stream.process(Frame(image, 0.1, 1))  # the tracking path
    assert seen == [(512, 512, 3), (512, 512, 3)]
    assert pixels[0] == astronaut[0, 0].tolist()  # BGR whichever way it came in
    assert len(reading.faces) == 1 and reading.faces[0].face.keypoints is not None
    assert reading2.faces[0].face.keypoints is not None  # kept through detect(boxes=...)
