"""Which Haar cascade and min_neighbors: recall on FER2013 faces vs false faces on non-faces.

Recall: PublicTest faces (48x48, upscaled to 96 px and padded) in which the cascade finds a
face. False positives: faces reported in scikit-image's sample photos that contain no face
(coffee, cat, rocket, text, textures...) at two scales. Also the median image/box side
ratio, which sets the crop margin the model needs.

    pip install scikit-image
    python benchmarks/bench_face_finder.py --data ../shared/data/fer2013/fer2013-train-val.csv.gz
"""

from __future__ import annotations

import argparse
import sys

import cv2
import numpy as np

CASCADES = (
    "haarcascade_frontalface_default.xml",
    "haarcascade_frontalface_alt.xml",
    "haarcascade_frontalface_alt2.xml",
)
NON_FACE = (
    "coffee",
    "chelsea",
    "rocket",
    "camera",
    "coins",
    "moon",
    "page",
    "text",
    "horse",
    "hubble_deep_field",
    "immunohistochemistry",
    "colorwheel",
    "logo",
    "retina",
    "grass",
    "gravel",
    "brick",
)


def non_face_images() -> list[np.ndarray]:
    import skimage.data

    images = []
    for name in NON_FACE:
        try:
            image = np.asarray(getattr(skimage.data, name)())
        except Exception:  # some samples need a download; skip those  # noqa: BLE001
            continue
        if image.dtype != np.uint8:
            image = (255 * (image.astype(float) / max(1, image.max()))).astype(np.uint8)
        if image.ndim == 3:
            image = cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2GRAY)
        images.append(image)
    return images


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True, help="fer2013.csv[.gz] with PublicTest rows")
    p.add_argument("--faces", type=int, default=800)
    args = p.parse_args()
    try:
        from moodlens_training import load_fer2013_csv

        faces = load_fer2013_csv(args.data, splits=("PublicTest",))["PublicTest"].images
        others = non_face_images()
    except (ImportError, OSError, ValueError) as exc:
        print(f"SKIPPED: {exc}")
        return 0
    pick = np.random.default_rng(1).choice(len(faces), min(args.faces, len(faces)), replace=False)
    print(f"{len(pick)} FER2013 PublicTest faces, {len(others)} non-face photos x 2 scales\n")
    print("| cascade | min_neighbors | faces found | >1 box | image/box | false faces |")
    print("|---|---|---|---|---|---|")
    for name in CASCADES:
        cascade = cv2.CascadeClassifier(cv2.data.haarcascades + name)
        for neighbours in (3, 4, 5, 6):
            found = multi = 0
            ratios = []
            for i in pick:
                big = cv2.resize(faces[i], (96, 96), interpolation=cv2.INTER_CUBIC)
                padded = cv2.copyMakeBorder(big, 48, 48, 48, 48, cv2.BORDER_CONSTANT, value=0)
                boxes = cascade.detectMultiScale(padded, 1.1, neighbours, minSize=(32, 32))
                found += len(boxes) >= 1
                multi += len(boxes) > 1
                if len(boxes) == 1:
                    ratios.append(96 / boxes[0][2])
            false = 0
            for image in others:
                for scale in (1.0, 0.6):
                    small = cv2.resize(image, None, fx=scale, fy=scale) if scale != 1 else image
                    false += len(cascade.detectMultiScale(small, 1.1, neighbours, minSize=(24, 24)))
            print(
                f"| {name.removeprefix('haarcascade_frontalface_')} | {neighbours} | "
                f"{found / len(pick):.1%} | {multi} | {np.median(ratios):.3f} | {false} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
