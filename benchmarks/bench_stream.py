"""Stream frame rate with and without near-box tracking and the pipeline, side by side.

Writes a clip of the bundled sample face drifting over a background (with a
stretch without a face), then runs MoodStream over it three ways: ``tracking=True``
(search near known faces, full search every ``detect_every`` frames) with the pipeline
(a frame's faces classified on a worker thread while the next frame's are found, the
default), the same one frame at a time (``pipeline=False``), and ``tracking=False``
(full search every frame, pipelined), alternating runs so that load on the machine hits
all alike. Prints medians.

    python benchmarks/bench_stream.py [--frames 150] [--size 640x480] [--repeats 5]
        [--model default --model default-int8]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
from moodlens import EmotionDetector, MoodStream, MoodStreamOptions


def write_clip(path: Path, frames: int, width: int, height: int) -> Path:
    sample = cv2.imread(str(resources.files("moodlens.samples").joinpath("astronaut.jpg")))
    face = cv2.resize(sample[30:210, 140:310], (150, 160), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(0)
    background = rng.integers(60, 160, (height, width, 3), dtype=np.uint8)
    background = cv2.GaussianBlur(background, (0, 0), 3)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (width, height))
    for i in range(frames):
        image = background.copy()
        if not frames * 0.45 <= i < frames * 0.5:  # the face leaves for a moment
            x = 20 + (i * 3) % (width - 190)
            y = (height - 160) // 2 + int(10 * np.sin(i / 8))
            image[y : y + 160, x : x + 150] = face
        writer.write(image)
    writer.release()
    return path


MODES = {
    "tracking": (True, True),
    "serial": (True, False),
    "full": (False, True),
}


def run(
    clip: Path, detector: EmotionDetector, tracking: bool, pipeline: bool, detect_every: int
) -> dict:
    options = MoodStreamOptions(tracking=tracking, detect_every=detect_every, pipeline=pipeline)
    start = time.perf_counter()
    with MoodStream(clip, detector=detector, options=options) as stream:
        faces = sum(len(r.faces) for r in stream)
    elapsed = time.perf_counter() - start
    stats = stream.stats
    return {
        "fps": stats.frames / elapsed,
        "full": stats.full_detections,
        "near": stats.near_detections,
        "faces": faces,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=150)
    p.add_argument("--size", default="640x480")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--detect-every", type=int, default=10)
    p.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads (0: its default)")
    p.add_argument(
        "--model",
        action="append",
        help="a bundled model name or .onnx path; repeat to compare side by side "
        "(default: default)",
    )
    args = p.parse_args()
    models = args.model or ["default"]
    width, height = map(int, args.size.lower().split("x"))
    threads = args.threads or None
    detectors = {m: EmotionDetector(model=m, threads=threads) for m in models}
    results: dict[tuple[str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        clip = write_clip(Path(tmp) / "bench.mp4", args.frames, width, height)
        for detector in detectors.values():
            run(clip, detector, True, True, args.detect_every)  # warm-up
        # Alternate models and modes within each repeat, so load hits all alike.
        for _ in range(args.repeats):
            for model, detector in detectors.items():
                for mode, (tracking, pipeline) in MODES.items():
                    results.setdefault((model, mode), []).append(
                        run(clip, detector, tracking, pipeline, args.detect_every)
                    )
    for detector in detectors.values():
        detector.close()
    print(
        f"{args.frames} frames {width}x{height}, median of {args.repeats} runs, "
        f"ONNX Runtime threads={threads or 'default'}, cv2 threads={cv2.getNumThreads()}"
    )
    print(
        f"{'model':<14}{'mode':<34}{'fps':>8}{'full searches':>15}{'near searches':>15}{'faces':>8}"
    )
    median = {key: statistics.median(r["fps"] for r in rows) for key, rows in results.items()}
    labels = {
        "tracking": f"tracking (full every {args.detect_every})",
        "serial": "tracking, one frame at a time",
        "full": "full detection every frame",
    }
    for model in models:
        for mode, label in labels.items():
            first = results[(model, mode)][0]
            print(
                f"{model:<14}{label:<34}{median[(model, mode)]:8.1f}{first['full']:>15}"
                f"{first['near']:>15}{first['faces']:>8}"
            )
        tracked = median[(model, "tracking")]
        print(
            f"{model:<14}speed-up from tracking: x{tracked / median[(model, 'full')]:.2f}, "
            f"from the pipeline: x{tracked / median[(model, 'serial')]:.2f}"
        )
    if len(models) > 1:
        base = median[(models[0], "tracking")]
        for model in models[1:]:
            ratio = median[(model, "tracking")] / base
            print(f"tracked fps, {model} / {models[0]}: x{ratio:.2f}")


if __name__ == "__main__":
    main()
