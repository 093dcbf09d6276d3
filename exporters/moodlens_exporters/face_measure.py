"""Measurements of face finders on FER2013 faces: framing, jitter, the smallest reliable face.

Shared by the BlazeFace exporter (which writes the results into the ONNX metadata) and
``benchmarks/bench_face_finder.py`` (which publishes them). Faces are FER2013's 48x48
crops, upscaled and placed into frames; the reference framing is the Haar cascade's box
on them (the box the emotion model's ``crop_margin`` was measured against).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

__all__ = [
    "NON_FACE",
    "SCENE_MIN_FACE",
    "backgrounds",
    "end_to_end",
    "framing_jitter",
    "load_fer_faces",
    "match",
    "measure_framing",
    "measure_face_range",
    "padded_face",
    "place_face",
    "portrait_frames",
    "scene_frames",
]

#: ``min_face`` the scene measurements pass to every moodlens finder (faces are 64-160 px).
SCENE_MIN_FACE = 56

#: scikit-image samples without a face (``camera`` and ``astronaut`` show one).
NON_FACE = (
    "coffee", "chelsea", "rocket", "coins", "moon", "page", "text", "horse",
    "hubble_deep_field", "immunohistochemistry", "colorwheel", "logo", "retina", "grass",
    "gravel", "brick", "cell", "clock", "checkerboard", "binary_blobs", "microaneurysms",
    "shepp_logan_phantom", "lily", "eagle", "kidney", "cells3d", "protein_transport",
    "human_mitosis", "nickel_solidification", "vortex",
)  # fmt: skip


def load_fer_faces(
    path: str | Path, split: str, n: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random faces (48x48 uint8) and labels of one FER2013 split."""
    from moodlens_training import load_fer2013_csv

    faces = load_fer2013_csv(path, splits=(split,))[split]
    pick = np.random.default_rng(seed).choice(len(faces), min(n, len(faces)), replace=False)
    return faces.images[pick], faces.labels[pick]


def _to_bgr_uint8(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[0] < 8 and image.shape[-1] > 8:  # (planes, h, w)
        image = image[image.shape[0] // 2]
    if image.ndim == 4:  # volumes: middle slice
        image = image[image.shape[0] // 2]
        if image.ndim == 3 and image.shape[0] < 8:
            image = image[0]
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    elif image.dtype != np.uint8:
        image = image.astype(np.float64)
        lo, hi = float(image.min()), float(image.max())
        image = (255 * (image - lo) / max(hi - lo, 1e-9)).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] >= 3:
        return cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2BGR)
    return cv2.cvtColor(np.ascontiguousarray(image[..., 0]), cv2.COLOR_GRAY2BGR)


def backgrounds() -> list[np.ndarray]:
    """Face-free BGR photos and textures from scikit-image (those present without a
    download), or smoothed noise textures when scikit-image is not installed."""
    out = []
    try:
        import skimage.data
    except ImportError:
        skimage = None  # type: ignore[assignment]
    if skimage is not None:
        for name in NON_FACE:
            try:
                image = getattr(skimage.data, name)()
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException:  # noqa: BLE001 - some samples need a download (pooch),
                # and under pytest scikit-image raises pytest's Skipped (a BaseException)
                # for those instead of an error, which would skip the caller's test.
                continue
            bgr = _to_bgr_uint8(image)
            if min(bgr.shape[:2]) >= 64:
                out.append(bgr)
    if not out:
        rng = np.random.default_rng(7)
        for k in (3, 9, 27):
            noise = rng.integers(0, 256, (512, 512, 3), dtype=np.uint8)
            out.append(cv2.GaussianBlur(noise, (0, 0), k / 3))
    return out


def background(
    rng: np.random.Generator, w: int, h: int, photos: Sequence[np.ndarray]
) -> np.ndarray:
    """A w x h BGR background: a random photo (cropped and rescaled) or a noise texture."""
    if photos and rng.random() < 0.8:
        photo = photos[rng.integers(len(photos))]
        ph, pw = photo.shape[:2]
        scale = max(w / pw, h / ph) * rng.uniform(1.0, 1.6)
        big = cv2.resize(photo, (math.ceil(pw * scale), math.ceil(ph * scale)))
        y = rng.integers(0, big.shape[0] - h + 1)
        x = rng.integers(0, big.shape[1] - w + 1)
        return np.ascontiguousarray(big[y : y + h, x : x + w])
    small = rng.integers(0, 256, (max(2, h // 16), max(2, w // 16), 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def place_face(
    frame: np.ndarray, face: np.ndarray, side: int, cx: float, cy: float, angle: float = 0.0
) -> tuple[float, float, float]:
    """Pastes a gray FER face (upscaled to ``side``, rotated by ``angle`` degrees, counter-
    clockwise as seen) centred at (cx, cy) into a BGR frame, in place; the rotated
    square's corners are blended into the background, so no black corners appear.

    Returns:
        the face image's centre and side in the frame (cx, cy, side).
    """
    big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    big = cv2.cvtColor(big, cv2.COLOR_GRAY2BGR)
    reach = math.ceil(side * 0.75) + 2
    patch = np.zeros((2 * reach, 2 * reach, 3), np.uint8)
    mask = np.zeros((2 * reach, 2 * reach), np.float32)
    o = reach - side // 2
    patch[o : o + side, o : o + side] = big
    mask[o : o + side, o : o + side] = 1.0
    if angle:
        m = cv2.getRotationMatrix2D((reach, reach), angle, 1.0)
        patch = cv2.warpAffine(patch, m, (2 * reach, 2 * reach), flags=cv2.INTER_LINEAR)
        mask = cv2.warpAffine(mask, m, (2 * reach, 2 * reach), flags=cv2.INTER_LINEAR)
    h, w = frame.shape[:2]
    x0, y0 = round(cx) - reach, round(cy) - reach
    fx0, fy0, fx1, fy1 = max(0, x0), max(0, y0), min(w, x0 + 2 * reach), min(h, y0 + 2 * reach)
    if fx1 <= fx0 or fy1 <= fy0:
        return float(cx), float(cy), float(side)
    p = patch[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0].astype(np.float32)
    a = mask[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0, None]
    region = frame[fy0:fy1, fx0:fx1].astype(np.float32)
    frame[fy0:fy1, fx0:fx1] = (p * a + region * (1 - a)).astype(np.uint8)
    return float(x0 + reach), float(y0 + reach), float(side)


def padded_face(face: np.ndarray, side: int = 192, pad: int = 64) -> np.ndarray:
    """A FER face upscaled to ``side`` with ``pad`` pixels of replicated border, BGR
    (the framing measurement of ``moodlens_training.margin``)."""
    big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    padded = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    return cv2.cvtColor(padded, cv2.COLOR_GRAY2BGR)


def _one_box(faces: Sequence[Any]) -> tuple[float, float, float, float] | None:
    if len(faces) != 1:
        return None
    b = faces[0].box
    return b.x + b.w / 2, b.y + b.h / 2, float(b.w), float(b.h)


def measure_framing(onnx_path: Path, faces: tuple[np.ndarray, np.ndarray]) -> dict[str, float]:
    """The mapping of a face detector's box onto the Haar box, on FER faces (medians).

    dx, dy: centre offset (Haar - detector) in units of the detector box; sx, sy: size
    ratio Haar / detector; measured where each finds exactly one face.
    """
    from moodlens import BlazeFaceFinder, FaceFinderOptions, Framing, HaarFaceFinder

    opts = FaceFinderOptions(min_face=60)
    detector = BlazeFaceFinder("short", opts, model_path=onnx_path, framing=Framing())
    haar = HaarFaceFinder(FaceFinderOptions(min_face=60, min_neighbors=5, max_side=4096))
    rows = []
    for face in faces[0]:
        frame = padded_face(face)
        d, h = _one_box(detector.find(frame)), _one_box(haar.find(frame))
        if d and h:
            rows.append(((h[0] - d[0]) / d[2], (h[1] - d[1]) / d[3], h[2] / d[2], h[3] / d[3]))
    if not rows:
        raise ValueError("no FER face was found by both finders; cannot measure the framing")
    med = np.median(np.asarray(rows), axis=0)
    return {
        "dx": round(float(med[0]), 4),
        "dy": round(float(med[1]), 4),
        "sx": round(float(med[2]), 4),
        "sy": round(float(med[3]), 4),
        "faces": len(rows),
    }


def measure_face_range(
    onnx_path: Path,
    faces: tuple[np.ndarray, np.ndarray],
    *,
    sizes: Sequence[int] = (16, 20, 24, 28, 32, 36, 40, 48, 56, 64, 80, 96, 112),
    recall: float = 0.9,
    per_size: int = 200,
) -> tuple[float, float, dict[str, float]]:
    """The range of face sides, in pixels of the model input, over which at least
    ``recall`` of FER faces (on photo and texture backgrounds, up to 15 degrees of roll)
    are found in one pass of the model over its own input.

    Returns:
        (smallest, largest, share found by size).
    """
    from moodlens import BlazeFaceFinder, FaceFinderOptions, Framing

    probe = BlazeFaceFinder(
        "short", FaceFinderOptions(min_face=8), model_path=onnx_path, framing=Framing()
    )
    side = probe.info.input_size
    photos = backgrounds()
    rng = np.random.default_rng(3)
    found_at: dict[int, float] = {}
    for size in sizes:
        hits = 0
        for i in range(per_size):
            face = faces[0][i % len(faces[0])]
            frame = background(rng, side, side, photos)
            reach = min(side / 2, size * 0.55)
            cx, cy = rng.uniform(reach, side - reach, 2)
            place_face(frame, face, round(size * 1.02), cx, cy, rng.uniform(-15, 15))
            b, _, _ = probe.candidates(frame)
            hits += bool(
                np.any(
                    (np.abs((b[:, 0] + b[:, 2]) / 2 - cx) < size / 2)
                    & (np.abs((b[:, 1] + b[:, 3]) / 2 - cy) < size / 2)
                )
            )
        found_at[size] = hits / per_size
    good = [s for s in sizes if found_at[s] >= recall]
    if not good:
        best = max(sizes, key=lambda s: found_at[s])
        good = [best]
    low = min(good)
    high = low
    for size in sizes:
        if size > high and found_at[size] >= recall and high == max(t for t in sizes if t < size):
            high = size
    return float(low), float(high), {str(k): round(v, 3) for k, v in found_at.items()}


def framing_jitter(
    find: Callable[[np.ndarray], Sequence[Any]], faces: np.ndarray, reference: tuple[float, ...]
) -> dict[str, float]:
    """How a finder's canonical boxes vary on FER faces around the reference framing.

    ``reference`` is (cx, cy, side) of the canonical box on a ``padded_face`` frame (the
    median Haar box). Returns the share found, the median and spread (standard deviation)
    of the centre offset (units of the reference side), of log2 scale, and of the eye
    roll in degrees where the finder gives keypoints.
    """
    rx, ry, rs = reference
    dx, dy, ds, roll = [], [], [], []
    for face in faces:
        found = find(padded_face(face))
        if len(found) != 1:
            continue
        b = found[0].box
        dx.append((b.x + b.w / 2 - rx) / rs)
        dy.append((b.y + b.h / 2 - ry) / rs)
        ds.append(math.log2(math.sqrt(b.w * b.h) / rs))
        if found[0].keypoints is not None:
            roll.append(found[0].roll)
    out: dict[str, float] = {"faces": len(faces), "one_face": len(dx) / max(1, len(faces))}
    for name, values in (("dx", dx), ("dy", dy), ("log2_scale", ds), ("roll_deg", roll)):
        if values:
            out[f"{name}_median"] = float(np.median(values))
            out[f"{name}_sd"] = float(np.std(values))
    return out


# -- faces placed into frames, and the faces a detector reports on them ----------------------
#: One face in a frame: centre x, centre y, side (pixels), label, index into the faces.
Truth = tuple[float, float, float, int, int]


def portrait_frames(
    faces: np.ndarray, labels: np.ndarray
) -> Iterator[tuple[np.ndarray, list[Truth]]]:
    """Each 48x48 face upscaled to 96 px inside a 48 px black border: a 192x192 BGR frame."""
    for i, face in enumerate(faces):
        big = cv2.resize(face, (96, 96), interpolation=cv2.INTER_CUBIC)
        frame = cv2.copyMakeBorder(big, 48, 48, 48, 48, cv2.BORDER_CONSTANT, value=0)
        yield (
            cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR),
            [(96.0, 96.0, 96.0 / 1.02, int(labels[i]), i)],
        )


def scene_frames(
    faces: np.ndarray,
    labels: np.ndarray,
    photos: Sequence[np.ndarray],
    w: int,
    h: int,
    sizes: tuple[int, int],
    per_frame: int,
    angle: float,
    seed: int,
) -> Iterator[tuple[np.ndarray, list[Truth]]]:
    """Frames of w x h with ``per_frame`` faces each, of ``sizes`` pixels (inclusive range),
    rotated up to ``angle`` degrees, at random places that do not overlap, on a photo or
    texture background (:func:`background`)."""
    rng = np.random.default_rng(seed)
    i = 0
    while i < len(faces):
        frame = background(rng, w, h, photos)
        truths: list[Truth] = []
        taken: list[tuple[float, float, float]] = []
        for _ in range(per_frame):
            if i >= len(faces):
                break
            side = int(rng.integers(sizes[0], sizes[1] + 1))
            for _try in range(50):
                reach = side * 0.8
                cx, cy = rng.uniform(reach, w - reach), rng.uniform(reach, h - reach)
                if all(math.hypot(cx - x, cy - y) > (side + s) for x, y, s in taken):
                    break
            place_face(frame, faces[i], side, cx, cy, rng.uniform(-angle, angle))
            taken.append((cx, cy, side))
            truths.append((cx, cy, side / 1.02, int(labels[i]), i))
            i += 1
        yield frame, truths


def match(
    found: Sequence[tuple[Any, int]], cx: float, cy: float, side: float
) -> tuple[Any, int] | None:
    """The (box, label) found for a face at (cx, cy) of ``side`` pixels: the nearest box
    whose centre lies within half the side and whose size is 0.5-2x the side."""
    best, best_d = None, math.inf
    for box, label in found:
        bx, by = box.x + box.w / 2, box.y + box.h / 2
        d = math.hypot(bx - cx, by - cy)
        if d < side / 2 and 0.5 * side <= math.sqrt(box.w * box.h) <= 2 * side and d < best_d:
            best, best_d = (box, label), d
    return best


def end_to_end(
    model: str | Path | None,
    faces: np.ndarray,
    labels: np.ndarray,
    *,
    face_finder: str = "blazeface",
    photos: Sequence[np.ndarray] | None = None,
) -> dict[str, dict[str, float]]:
    """Accuracy through ``EmotionDetector.detect`` on FER faces placed into frames.

    Two settings, as in ``benchmarks/bench_face_finder.py``: "portrait" (default finder
    options) and "scenes" (64-160 px faces rotated up to 15 degrees in 1280x720 photo or
    texture frames, ``min_face=56``). Each gives the share of faces found, the share
    right end to end (a missed face is wrong), and the classifier alone on the same
    48x48 faces for comparison.
    """
    from moodlens import EmotionDetector, FaceFinderOptions

    photos = backgrounds() if photos is None else photos
    with EmotionDetector(model=model, threads=1) as alone_detector:
        alone = alone_detector.classify(faces).argmax(axis=1)
    out: dict[str, dict[str, float]] = {}
    settings = (
        ("portrait", None, portrait_frames(faces, labels)),
        (
            "scenes",
            SCENE_MIN_FACE,
            scene_frames(faces, labels, photos, 1280, 720, (64, 160), 1, 15.0, seed=2),
        ),
    )
    for name, min_face, frames in settings:
        found = right = 0
        with EmotionDetector(
            model=model,
            face_finder=face_finder,
            face_options=FaceFinderOptions(min_face=min_face),
            threads=1,
        ) as detector:
            for frame, truths in frames:
                hits = [(f.box, list(f.scores).index(f.emotion)) for f in detector.detect(frame)]
                for cx, cy, side, label, _ in truths:
                    hit = match(hits, cx, cy, side)
                    found += hit is not None
                    right += hit is not None and hit[1] == label
        n = max(1, len(faces))
        out[name] = {"faces": len(faces), "found": found / n, "right": right / n}
    out["alone"] = {"faces": len(faces), "right": float(np.mean(alone == labels))}
    return out
