"""How BlazeFace's verification rule was chosen: candidates on FER2013 Training frames.

Every candidate the short-range model scores 0.5 or more (``confirm=False``) in portrait,
scene and 1920x1080 frames of FER2013 **Training** faces (the frames of
``bench_face_finder.py``, other faces and seeds) is measured once: its score, the
full-range model's second look (``BlazeFaceFinder.second_look``), the levelled Haar
cascade (``BlazeFaceFinder.haar_confirms``) and its inner contrast (``BlazeFaceFinder.contrast``).
A candidate matching a placed face is a face; any other is a false box. Then rules of the
form "contrast >= 0.1 below a score of 0.85, and score + w_full * full + w_haar * haar >=
t" are compared with the rule before (score >= 0.7, or Haar's confirmation from 0.5): the
pick keeps the share found within 0.3 points and has the fewest false boxes. The
face-free images are counted for information only; they choose nothing.

    python benchmarks/tune_face_verification.py \\
        --data ../shared/data/fer2013/fer2013-train-val.csv.gz
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_face_finder import BIG_MIN_FACE, non_face_set  # noqa: E402

KINDS = ("portrait", "scenes", "big1080")
Row = dict[str, float | bool | str]


def measure(data: str, n: int) -> list[Row]:
    from moodlens import BlazeFaceFinder, FaceFinderOptions
    from moodlens_exporters.face_measure import (
        SCENE_MIN_FACE,
        backgrounds,
        load_fer_faces,
        match,
        portrait_frames,
        scene_frames,
    )

    faces, labels = load_fer_faces(data, "Training", n, seed=5)
    photos = backgrounds()
    looker = BlazeFaceFinder("short")

    def features(frame: np.ndarray, face) -> Row:
        return {
            "score": float(face.score),
            "full": looker.second_look(frame, face.box),
            "haar": looker.haar_confirms(frame, face),
            "contrast": BlazeFaceFinder.contrast(frame, face.box),
        }

    def candidates(min_face: int | None) -> BlazeFaceFinder:
        options = FaceFinderOptions(min_face=min_face, confirm=False, score_threshold=0.5)
        return BlazeFaceFinder("short", options)

    sets = {
        "portrait": (portrait_frames(faces, labels), None),
        "scenes": (
            scene_frames(faces, labels, photos, 1280, 720, (64, 160), 1, 15.0, seed=11),
            SCENE_MIN_FACE,
        ),
        "big1080": (
            scene_frames(faces[:90], labels[:90], photos, 1920, 1080, (60, 120), 3, 15.0, 12),
            BIG_MIN_FACE,
        ),
    }
    rows: list[Row] = []
    for kind, (frames, min_face) in sets.items():
        finder = candidates(min_face)
        for frame, truths in frames:
            found = finder.find(frame)
            boxes = [(f.box, i) for i, f in enumerate(found)]
            taken = set()
            for cx, cy, side, _label, _index in truths:
                hit = match(boxes, cx, cy, side)
                row: Row = {"kind": kind, "face": True, "found": hit is not None}
                if hit is not None:
                    taken.add(hit[1])
                    row.update(features(frame, found[hit[1]]))
                rows.append(row)
            for i, face in enumerate(found):
                if i not in taken:
                    row = {"kind": kind, "face": False, "found": True}
                    rows.append({**row, **features(frame, face)})
    for kind, min_face in (("face-free", None), ("face-free, min_face=32", 32)):
        finder = candidates(min_face)
        for image in non_face_set():
            for face in finder.find(image):
                rows.append({"kind": kind, "face": False, "found": True, **features(image, face)})
    return rows


def tally(rows: list[Row], rule: Callable[[Row], bool]) -> dict[str, tuple[float, int]]:
    out = {}
    for kind in sorted({str(r["kind"]) for r in rows}, key=lambda k: (k not in KINDS, k)):
        mine = [r for r in rows if r["kind"] == kind]
        faces = [r for r in mine if r["face"]]
        found = sum(1 for r in faces if r["found"] and rule(r))
        false = sum(1 for r in mine if not r["face"] and rule(r))
        out[kind] = (found / len(faces) if faces else float("nan"), false)
    return out


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", required=True, help="fer2013.csv[.gz] with Training rows")
    p.add_argument("--faces", type=int, default=300, help="Training faces per frame kind")
    args = p.parse_args()
    rows = measure(args.data, args.faces)

    def score(result: dict[str, tuple[float, int]]) -> tuple[float, int]:
        found = float(np.mean([result[k][0] for k in KINDS]))
        return found, sum(result[k][1] for k in KINDS)

    def before(r: Row) -> bool:
        return bool(r["score"] >= 0.7 or r["haar"])

    base = tally(rows, before)
    base_found, _ = score(base)
    tried = []
    for w_full, w_haar, t in itertools.product(
        (0.1, 0.2, 0.3, 0.4), (0.0, 0.05, 0.1, 0.15), np.round(np.arange(0.70, 0.90, 0.01), 2)
    ):

        def rule(r: Row, w_full=w_full, w_haar=w_haar, t=t) -> bool:
            if r["score"] < 0.85 and r["contrast"] < 0.1:
                return False
            return bool(r["score"] + w_full * r["full"] + w_haar * r["haar"] >= t)

        result = tally(rows, rule)
        found, false = score(result)
        if found >= base_found - 0.003:
            tried.append((false, -found, (w_full, w_haar, float(t)), result))
    tried.sort(key=lambda z: z[:2])
    kinds = list(base)
    print("| rule | " + " | ".join(f"{k}: found / false" for k in kinds) + " |")
    print("|---" * (len(kinds) + 1) + "|")

    def line(name: str, result: dict[str, tuple[float, int]]) -> str:
        cells = [
            f"{f:.1%} / {n}" if f == f else f"- / {n}"  # nan: no faces in that set
            for f, n in (result[k] for k in kinds)
        ]
        return f"| {name} | " + " | ".join(cells) + " |"

    print(line("before: score >= 0.7, or Haar from 0.5", base))
    for _false, _found, (w_full, w_haar, t), result in tried[:8]:
        print(line(f"score + {w_full} full + {w_haar} haar >= {t}", result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
