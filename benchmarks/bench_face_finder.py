"""Face finders side by side: faces found, emotions right end to end, false faces, framing
jitter and speed, for BlazeFace (short and full range), the Haar cascade and fer.

FER2013 PublicTest faces are placed into frames:

- portrait: the 48x48 face upscaled to 96 px inside a 48 px black border (192x192);
- scenes: 64-160 px faces, rotated up to 15 degrees, at a random place in a 1280x720
  frame of a face-free photo or a texture (scikit-image samples);
- big frames: 60-120 px faces, three per 1920x1080 or 4032x3024 frame;
- false faces: scikit-image's face-free photos (``camera`` and ``astronaut`` excluded),
  each whole, rescaled (0.5x, 1.5x) and cut into 2x2 tiles.

A face is found when a box's centre lies within half the face's side of the truth and its
side within 0.5-2x. End-to-end accuracy counts a missed face as wrong; "alone" is the
classifier on the same 48x48 faces with no finding. Scenes and big frames pass
``min_face=56`` to every moodlens finder (fer fixes its own 50 px); portraits and speed use
the defaults. Framing jitter: each finder's box on FER faces (192 px, replicate-padded)
against the median Haar box, the framing the emotion model's crop margin was measured on.
Speed: medians of ``find``/``detect`` per frame with one face, one ONNX Runtime thread.

    pip install 'moodlens[bench]'            # scikit-image; fer: pip install --no-deps fer==25.10.3
    python benchmarks/bench_face_finder.py --data ../shared/data/fer2013/fer2013-train-val.csv.gz \\
        --markdown benchmarks/results_face_finder.md
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import command_line, environment, markdown_table, print_environment  # noqa: E402

FINDERS = ("blazeface-short", "blazeface-full", "haar")
#: Chosen on FER2013 Training faces in 1920x1080 frames: found 86.7% at 56, 93.3% at 48.
BIG_MIN_FACE = 48
SECTIONS = ("portrait", "scenes", "big", "false", "jitter", "speed")


@dataclass
class Tally:
    faces: int = 0
    found: int = 0
    right: int = 0
    right_alone_on_found: int = 0
    right_on_found: int = 0
    extra: int = 0
    frames: int = 0
    seconds: list[float] = field(default_factory=list)

    def row(self) -> list[str]:
        found = self.found / max(1, self.faces)
        e2e = self.right / max(1, self.faces)
        on_found = self.right_on_found / max(1, self.found)
        alone = self.right_alone_on_found / max(1, self.found)
        ms = f"{1000 * float(np.median(self.seconds)):.1f}" if self.seconds else "-"
        return [
            f"{found:.1%}",
            f"{e2e:.1%}",
            f"{on_found:.1%}",
            f"{alone:.1%}",
            f"{on_found - alone:+.1%}",
            f"{self.extra / max(1, self.frames):.3f}",
            ms,
        ]


class Runner:
    """One way of finding faces and scoring them: a moodlens finder or fer."""

    def __init__(self, name: str, detect: Callable[[np.ndarray], list[tuple[Any, int]]]):
        self.name, self.detect = name, detect


#: The emotion model every detector here uses (--model); None: the default.
MODEL: str | None = None


def moodlens_runner(name: str, finder: str, min_face: int | None, align: bool = False) -> Runner:
    from moodlens import EmotionDetector, FaceFinderOptions

    options = FaceFinderOptions(min_face=min_face, align=align)
    detector = EmotionDetector(model=MODEL, face_finder=finder, face_options=options, threads=1)

    def detect(frame: np.ndarray) -> list[tuple[Any, int]]:
        return [(f.box, list(f.scores).index(f.emotion)) for f in detector.detect(frame)]

    return Runner(name, detect)


def fer_runner() -> Runner | None:
    try:
        import _fer_reference as ferref
    except ImportError:
        return None
    install, why = ferref.find_fer()
    if install is None:
        print(f"fer not measured: {why}")
        return None
    try:
        pipe = ferref.FerPipeline(ferref.make_backend("tflite", install, 1, Path("/tmp")))
    except Exception as exc:  # noqa: BLE001 - fer's TensorFlow may be missing
        print(f"fer not measured: {exc}")
        return None
    labels = list(ferref.LABELS)

    def detect(frame: np.ndarray) -> list[tuple[Any, int]]:
        out = []
        for d in pipe.detect(frame):
            x, y, w, h = d["box"]
            from moodlens import Box

            best = max(labels, key=lambda k: d["emotions"][k])
            out.append((Box(x, y, w, h), labels.index(best)))
        return out

    return Runner("fer 25.10.3 (Haar default, 50 px)", detect)


def run_frames(runner: Runner, items, alone: np.ndarray, tally: Tally) -> None:
    """items: (frame, [(cx, cy, side, label, face index)]) per frame."""
    from moodlens_exporters.face_measure import match

    for frame, truths in items:
        start = time.perf_counter()
        found = runner.detect(frame)
        tally.seconds.append(time.perf_counter() - start)
        tally.frames += 1
        matched = 0
        for cx, cy, side, label, index in truths:
            tally.faces += 1
            hit = match(found, cx, cy, side)
            if hit is None:
                continue
            matched += 1
            tally.found += 1
            tally.right += hit[1] == label
            tally.right_on_found += hit[1] == label
            tally.right_alone_on_found += alone[index] == label
        tally.extra += max(0, len(found) - matched)


def false_faces(find: Callable[[np.ndarray], list], images: Sequence[np.ndarray]) -> int:
    return sum(len(find(image)) for image in images)


def non_face_set() -> list[np.ndarray]:
    from moodlens_exporters.face_measure import backgrounds

    out = []
    for image in backgrounds():
        h, w = image.shape[:2]
        out.append(image)
        for s in (0.5, 1.5):
            out.append(cv2.resize(image, (max(32, round(w * s)), max(32, round(h * s)))))
        for ty in range(2):
            for tx in range(2):
                out.append(image[ty * h // 2 : (ty + 1) * h // 2, tx * w // 2 : (tx + 1) * w // 2])
    return out


def speed_frame(w: int, h: int) -> np.ndarray:
    """The timing frame: the sample face (120-160 px) centred on a coarse noise texture."""
    from importlib import resources

    astronaut = cv2.imread(str(resources.files("moodlens.samples").joinpath("astronaut.jpg")))
    patch = astronaut[21:231, 135:315]
    rng = np.random.default_rng(0)
    frame = cv2.resize(rng.integers(60, 200, (h // 40, w // 40, 3), dtype=np.uint8), (w, h))
    side = 120 if w <= 640 else 160
    p = cv2.resize(patch, (round(180 * side / 100), round(210 * side / 100)))
    y0, x0 = h // 2 - p.shape[0] // 2, w // 2 - p.shape[1] // 2
    frame[y0 : y0 + p.shape[0], x0 : x0 + p.shape[1]] = p
    return frame


def timing(finder: str, sizes: Sequence[tuple[int, int]], repeats: int) -> dict[str, list[str]]:
    """Median ms of find and of detect per frame, one ~120 px face (the astronaut)."""

    from moodlens import EmotionDetector

    detector = EmotionDetector(model=MODEL, face_finder=finder, threads=1)
    out = {}
    for w, h in sizes:
        frame = speed_frame(w, h)
        found = len(detector.detect(frame))
        times = {"find": [], "detect": []}
        for _ in range(repeats):
            for key, fn in (("find", detector.find_faces), ("detect", detector.detect)):
                t = time.perf_counter()
                fn(frame)
                times[key].append(time.perf_counter() - t)
        out[f"{w}x{h}"] = [
            f"{1000 * np.median(times['find']):.1f}",
            f"{1000 * np.median(times['detect']):.1f}",
            str(found),
        ]
    return out


def fer_timing(sizes, repeats) -> dict[str, list[str]]:
    runner = fer_runner()
    if runner is None:
        return {}
    out = {}
    for w, h in sizes:
        frame = speed_frame(w, h)
        found = len(runner.detect(frame))
        ts = []
        for _ in range(repeats):
            t = time.perf_counter()
            runner.detect(frame)
            ts.append(time.perf_counter() - t)
        out[f"{w}x{h}"] = ["-", f"{1000 * np.median(ts):.1f}", str(found)]
    return out


def jitter_rows(faces: np.ndarray) -> list[list[str]]:
    from moodlens import FaceFinderOptions, make_face_finder
    from moodlens_exporters.face_measure import framing_jitter, padded_face

    haar = make_face_finder("haar", FaceFinderOptions(min_face=60, min_neighbors=5, max_side=4096))
    boxes = [haar.find(padded_face(f)) for f in faces[:400]]
    one = np.array([[b[0].box.x, b[0].box.y, b[0].box.w, b[0].box.h] for b in boxes if len(b) == 1])
    x, y, w, h = np.median(one, axis=0)
    reference = (x + w / 2, y + h / 2, math.sqrt(w * h))
    rows = []
    for name in FINDERS:
        opts = (
            FaceFinderOptions(min_face=60, min_neighbors=5, max_side=4096)
            if name == "haar"
            else FaceFinderOptions(min_face=60)
        )
        finder = make_face_finder(name, opts)
        j = framing_jitter(finder.find, faces, reference)
        rows.append(
            [
                name,
                f"{j['one_face']:.1%}",
                f"{j.get('dx_median', 0):+.3f} / {j.get('dx_sd', 0):.3f}",
                f"{j.get('dy_median', 0):+.3f} / {j.get('dy_sd', 0):.3f}",
                f"{j.get('log2_scale_median', 0):+.3f} / {j.get('log2_scale_sd', 0):.3f}",
                (
                    f"{j['roll_deg_median']:+.1f} / {j['roll_deg_sd']:.1f}"
                    if "roll_deg_sd" in j
                    else "-"
                ),
            ]
        )
    return rows


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", required=True, help="fer2013.csv[.gz] with PublicTest rows")
    p.add_argument("--split", default="PublicTest", help="faces to report on (Training to tune)")
    p.add_argument("--faces", type=int, default=600, help="faces per portrait/scene test")
    p.add_argument("--big-faces", type=int, default=90, help="faces per big-frame size")
    p.add_argument("--repeats", type=int, default=30, help="timed runs per frame size")
    p.add_argument("--no-fer", action="store_true")
    p.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated sections of {SECTIONS}"
    )
    p.add_argument("--markdown", type=Path, help="write the tables to this file")
    p.add_argument("--model", default=None, help="emotion model: a bundled name or a path")
    args = p.parse_args()
    global MODEL
    MODEL = args.model
    try:
        from moodlens import EmotionDetector
        from moodlens_exporters.face_measure import (
            SCENE_MIN_FACE,
            backgrounds,
            load_fer_faces,
            portrait_frames,
            scene_frames,
        )
    except ImportError as exc:
        print(f"SKIPPED: {exc}")
        return 0
    env = environment(1)
    print_environment(env)
    faces, labels = load_fer_faces(args.data, args.split, args.faces, seed=1)
    alone = EmotionDetector(model=MODEL, threads=1).classify(faces).argmax(axis=1)
    print(
        f"classifier alone on these {len(faces)} {args.split} faces: {np.mean(alone == labels):.1%}"
    )
    photos = backgrounds()
    runners = [moodlens_runner(f, f, None) for f in FINDERS]
    scene_runners = [moodlens_runner(f, f, SCENE_MIN_FACE) for f in FINDERS]
    scene_runners.append(
        moodlens_runner(
            "blazeface-short, eyes levelled (align=True)",
            "blazeface-short",
            SCENE_MIN_FACE,
            align=True,
        )
    )
    fer = None if args.no_fer else fer_runner()
    if fer is not None:
        runners.append(fer)
        scene_runners.append(fer)
    header = [
        "finder",
        "found",
        "right end to end",
        "right on found",
        "alone on found",
        "framing cost",
        "extra boxes/frame",
        "ms/frame",
    ]
    sections: list[tuple[str, list[list[str]]]] = []
    only = set(args.only.split(","))
    non_faces: list[np.ndarray] = []
    fp_rows: list[list[str]] = []
    jitter: list[list[str]] = []
    speed_rows: list[list[str]] = []

    if "portrait" in only:
        rows = []
        for r in runners:
            tally = Tally()
            run_frames(r, portrait_frames(faces, labels), alone, tally)
            rows.append([r.name, *tally.row()])
            print("portrait", rows[-1], flush=True)
        sections.append(
            ("Portrait: 96 px face in a 48 px black border (192x192), default settings", rows)
        )

    if "scenes" in only:
        rows = []
        for r in scene_runners:
            tally = Tally()
            frames = scene_frames(faces, labels, photos, 1280, 720, (64, 160), 1, 15.0, seed=2)
            run_frames(r, frames, alone, tally)
            rows.append([r.name, *tally.row()])
            print("scene", rows[-1], flush=True)
        sections.append(
            (
                f"Scenes: 64-160 px faces rotated up to 15 degrees in 1280x720 photos/textures, "
                f"min_face={SCENE_MIN_FACE}",
                rows,
            )
        )

    if "big" in only:
        for w, h in ((1920, 1080), (4032, 3024)):
            rows = []
            n = args.big_faces
            # blazeface-full: its measured reliable face size (80 px of its 192 px input) would
            # need these frames at full resolution, ~100x the short-range model's work.
            big_runners = [
                moodlens_runner(name, name, BIG_MIN_FACE) for name in ("blazeface-short", "haar")
            ] + ([fer] if fer else [])
            for r in big_runners:
                tally = Tally()
                frames = scene_frames(
                    faces[:n], labels[:n], photos, w, h, (60, 120), 3, 15.0, seed=3
                )
                run_frames(r, frames, alone, tally)
                rows.append([r.name, *tally.row()])
                print(f"{w}x{h}", rows[-1], flush=True)
            sections.append(
                (
                    f"Big frames: 60-120 px faces, three per {w}x{h} frame, "
                    f"min_face={BIG_MIN_FACE}",
                    rows,
                )
            )

    from moodlens import FaceFinderOptions, make_face_finder

    if "false" in only:
        non_faces = non_face_set()
        fp_rows = []
        for name in FINDERS:
            for min_face in (None, 32):
                finder = make_face_finder(name, FaceFinderOptions(min_face=min_face))
                fp_rows.append([name, str(min_face), str(false_faces(finder.find, non_faces))])
        print("false faces", fp_rows, flush=True)

    if "jitter" in only:
        jitter = jitter_rows(faces)
        print("jitter", jitter, flush=True)

    if "speed" in only:
        sizes = ((640, 480), (1280, 720), (1920, 1080))
        speed_rows = []
        for name in FINDERS:
            for size, cells in timing(name, sizes, args.repeats).items():
                speed_rows.append([name, size, *cells])
        if fer is not None:
            for size, cells in fer_timing(sizes, args.repeats).items():
                speed_rows.append(["fer 25.10.3 (tflite)", size, *cells])
        print("speed", speed_rows, flush=True)

    lines = [
        "# Face finders: measured",
        "",
        f"Command: `{command_line()}`",
        "",
        f"Machine: {env['cpu']}, {env['cpu_count']} logical CPUs, load average "
        f"{env['load_average_1m_at_start']} at start (shared with other work: absolute times "
        "are inflated, side-by-side ratios less so); one ONNX Runtime thread.",
        f"Faces: {len(faces)} FER2013 {args.split} faces; the classifier alone gets "
        f"{np.mean(alone == labels):.1%} of them right.",
        "",
        "Columns: found (share of faces); right end to end (a missed face counts wrong); "
        "right on found, and the classifier alone on the same faces, and their difference "
        "(framing cost); extra boxes per frame (false or duplicate); median ms per frame "
        "(whole detect, under load).",
        "",
    ]
    for title, rows in sections:
        lines += [f"## {title}", "", markdown_table(header, rows), ""]
    if "false" in only:
        lines += [
            f"## False faces on {len(non_faces)} face-free images",
            "",
            "scikit-image's face-free samples (camera and astronaut excluded), each whole, at "
            "0.5x and 1.5x, and its four quarter tiles.",
            "",
            markdown_table(["finder", "min_face", "false faces"], fp_rows),
            "",
        ]
    if "jitter" in only:
        lines += [
            "## Framing jitter against FER2013 framing (median / standard deviation)",
            "",
            "FER faces at 192 px with 64 px of replicated border; offsets and scale relative to "
            "the median Haar box (the framing the emotion model's crop margin was measured "
            "on); roll from the eye keypoints. After each finder's box-to-face mapping.",
            "",
            markdown_table(
                ["finder", "one face found", "dx", "dy", "log2 scale", "roll (deg)"], jitter
            ),
            "",
        ]
    if "speed" in only:
        lines += [
            "## Speed, one face (~120-160 px), default settings, median ms",
            "",
            markdown_table(["finder", "frame", "find", "detect", "faces"], speed_rows),
            "",
        ]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
