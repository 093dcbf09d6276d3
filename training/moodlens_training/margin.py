"""Measures how a data set frames faces relative to the SDK's Haar detector.

The SDK crops a detected box plus ``crop_margin`` per side; the right margin is the one
that reproduces the data's own framing. Upscale each 48x48 face, pad it, run the same
cascade and compare the detected box with the image:

    python -m moodlens_training.margin --data fer2013.csv.gz
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from ._data import load_faces

HAAR_CASCADE = "haarcascade_frontalface_alt2.xml"  # as moodlens's 'haar' face finder


def measure_crop_margin(images: np.ndarray, *, samples: int = 3000, seed: int = 0) -> dict:
    """Median image/box side ratio over faces where exactly one face is found."""
    # The cascade the SDK's 'haar' face finder uses, from OpenCV 4's own files.
    cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / HAAR_CASCADE))
    if cascade.empty():
        raise SystemExit(f"OpenCV {cv2.__version__} has no {HAAR_CASCADE}; install OpenCV 4")
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(images), min(samples, len(images)), replace=False)
    ratios, centres = [], []
    for i in pick:
        big = cv2.resize(images[i], (192, 192), interpolation=cv2.INTER_CUBIC)
        padded = cv2.copyMakeBorder(big, 64, 64, 64, 64, cv2.BORDER_REPLICATE)
        found = cascade.detectMultiScale(padded, 1.1, 5, minSize=(60, 60))
        if len(found) == 1:
            x, y, w, h = found[0]
            ratios.append(192 / w)
            centres.append(((x + w / 2 - 64) / 192, (y + h / 2 - 64) / 192))
    ratio = float(np.median(ratios)) if ratios else float("nan")
    return {
        "faces_tried": len(pick),
        "faces_found": len(ratios),
        "median_image_to_box": ratio,
        "crop_margin_per_side": max(0.0, (ratio - 1) / 2),
        "median_centre": [float(v) for v in np.median(np.asarray(centres), axis=0)]
        if centres
        else None,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m moodlens_training.margin", description=__doc__)
    p.add_argument("--data", required=True)
    p.add_argument("--samples", type=int, default=3000)
    args = p.parse_args(argv)
    faces = load_faces(args.data)["Training"]
    result = measure_crop_margin(faces.images, samples=args.samples)
    for key, value in result.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
