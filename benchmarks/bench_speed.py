"""Latency of moodlens and of fer's model, measured side by side in one process.

Per-face classification (batch 1 and 32, crops already at each model's input size)
and full-frame ``detect()`` on the bundled sample letterboxed to 640x480 and
1280x720. Contenders take turns within every repeat (the order rotates), so a
busy machine slows all of them alike; medians and ratios come from the same run.
See benchmarks/README.md.

Example:
    python benchmarks/bench_speed.py --json results/speed.json
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _fer_reference as ferref  # noqa: E402
from _common import (  # noqa: E402
    environment,
    markdown_table,
    moodlens_model_summary,
    not_measured,
    print_environment,
    print_not_measured,
    skip,
    write_json,
)

BASELINE = "moodlens"


def interleaved(
    tasks: dict[str, Callable[[], object]], repeats: int, warmup: int
) -> dict[str, np.ndarray]:
    """Milliseconds per call of each task, the tasks taking turns in a rotating order."""
    names = list(tasks)
    for _ in range(warmup):
        for name in names:
            tasks[name]()
    times: dict[str, list[int]] = {name: [] for name in names}
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # a collection landing in one contender's turn would be charged to it
    try:
        for r in range(repeats):
            k = r % len(names)
            for name in names[k:] + names[:k]:
                start = time.perf_counter_ns()
                tasks[name]()
                times[name].append(time.perf_counter_ns() - start)
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: np.asarray(t, dtype=np.float64) / 1e6 for name, t in times.items()}


def summarise(ms: np.ndarray, per: int = 1) -> dict[str, float]:
    """Median and quartiles in ms, divided by ``per`` (faces per call)."""
    q25, q50, q75 = np.percentile(ms / per, [25, 50, 75])
    return {
        "median_ms": float(q50),
        "p25_ms": float(q25),
        "p75_ms": float(q75),
        "min_ms": float(ms.min() / per),
        "n": int(ms.size),
    }


def letterbox(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` scaled to fit ``width`` x ``height`` and centred on black."""
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    nw, nh = round(w * scale), round(h * scale)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (nw, nh), interpolation=interp)
    out = np.zeros((height, width, 3), dtype=np.uint8)
    x0, y0 = (width - nw) // 2, (height - nh) // 2
    out[y0 : y0 + nh, x0 : x0 + nw] = resized
    return out


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r}: expected WIDTHxHEIGHT") from None
    return w, h


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=200, help="timed calls per contender")
    p.add_argument("--warmup", type=int, default=20, help="untimed calls per contender first")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per runtime (default 1); 0: each runtime's own default (ONNX Runtime "
        "and TensorFlow: all cores; TFLite: its own choice, as fer creates it)",
    )
    p.add_argument("--model", default=None, help="moodlens .onnx (default: the bundled model)")
    p.add_argument("--int8", default=None, help="also time this int8 moodlens .onnx")
    p.add_argument(
        "--also",
        action="append",
        default=[],
        help="also time this moodlens model: a bundled name (fast, fast-int8, ...) or a path; "
        "repeat for several",
    )
    p.add_argument(
        "--fer",
        default="tflite,keras,onnx",
        help=f"fer backends, comma-separated from {','.join(ferref.BACKENDS)}; '' for none",
    )
    p.add_argument("--sizes", type=parse_size, nargs="+", default=[(640, 480), (1280, 720)])
    p.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    p.add_argument("--image", default=None, help="frame to letterbox (default: bundled sample)")
    p.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "moodlens-bench")
    p.add_argument("--json", default=None, help="write the full result here")
    args = p.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0 or args.threads < 0:
        p.error("--repeats must be >= 1, --threads >= 0 and --warmup >= 0")
    return args


def sample_image(path: str | None) -> np.ndarray:
    if path is None:
        source = resources.files("moodlens.samples").joinpath("astronaut.jpg")
        data = np.frombuffer(source.read_bytes(), dtype=np.uint8)
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    else:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        skip(f"could not read the frame {path or 'astronaut.jpg (bundled sample)'}.")
    return image


def moodlens_crop(detector: Any, gray: np.ndarray) -> np.ndarray:
    """The largest face as moodlens crops it: box plus the model's margin, at its input size."""
    boxes = detector.find_faces(gray)
    if not boxes:
        skip("moodlens finds no face in the sample frame; pass --image with a frontal face.")
    b = boxes[0]
    h, w = detector.info.input_size
    m = detector.info.crop_margin
    mx, my = round(b.w * m), round(b.h * m)
    y0, x0 = max(0, b.y - my), max(0, b.x - mx)
    region = gray[y0 : b.y + b.h + my, x0 : b.x + b.w + mx]
    return cv2.resize(region, (w, h), interpolation=cv2.INTER_AREA)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:  # OpenCV's own default otherwise (0 would mean no threading there)
        cv2.setNumThreads(args.threads)  # the Haar cascade of both pipelines
    from moodlens import EmotionDetector

    image = sample_image(args.image)
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    env = environment(args.threads)
    print_environment(env)

    setup_s: dict[str, float] = {}
    detectors: dict[str, Any] = {}
    models: dict[str, Any] = {}
    contenders = [(BASELINE, args.model), ("moodlens int8", args.int8)]
    contenders += [(f"moodlens {m}", m) for m in args.also]
    for name, path in contenders:
        if name != BASELINE and not path:
            continue
        start = time.perf_counter()
        detectors[name] = EmotionDetector(path, threads=args.threads or None)
        setup_s[name] = time.perf_counter() - start
        models[name] = {
            "path": str(path or "bundled"),
            **moodlens_model_summary(detectors[name].info),
        }
    if "moodlens int8" in models and "quantization" not in models["moodlens int8"]:
        print("NOTE: the --int8 model's metadata has no moodlens.quantization entry.")

    fer_pipes: dict[str, ferref.FerPipeline] = {}
    fer_skipped = ""
    wanted = [b for b in args.fer.split(",") if b]
    install, why = ferref.find_fer() if wanted else (None, "no fer backend asked for")
    if install is None:
        fer_skipped = why
        print(f"fer: skipped, {why}")
    else:
        models["fer"] = {"version": install.version, "data_dir": str(install.data_dir)}
        start = time.perf_counter()
        ferref.tensorflow(args.threads)
        setup_s["import tensorflow"] = time.perf_counter() - start
        for backend_name in wanted:
            start = time.perf_counter()
            backend = ferref.make_backend(backend_name, install, args.threads, args.cache_dir)
            setup_s[f"fer ({backend_name})"] = time.perf_counter() - start
            fer_pipes[f"fer ({backend_name})"] = ferref.FerPipeline(backend)
            models["fer"][backend_name] = backend.label

    crop48 = moodlens_crop(detectors[BASELINE], gray)
    fer_crop64 = None
    if fer_pipes:
        pipe = next(iter(fer_pipes.values()))
        fer_crop64, _ = ferref.crop_faces(gray, pipe.find_faces(gray)[:1])
        if not len(fer_crop64):
            fer_crop64 = ferref.resize_crops(crop48[None])  # fer finds no face: same face, resized
        fer_crop64 = fer_crop64[0]

    parity = {}
    if "moodlens int8" in detectors:
        a = detectors[BASELINE].classify(crop48[None])
        b = detectors["moodlens int8"].classify(crop48[None])
        parity["moodlens int8 max |score - float32 score| on the sample face"] = float(
            np.abs(a - b).max()
        )

    print(f"\nTiming: {args.warmup} warm-up + {args.repeats} timed calls per contender", flush=True)
    classify: dict[str, dict[str, Any]] = {}
    for batch in args.batches:
        tasks: dict[str, Callable[[], object]] = {}
        crops = np.repeat(crop48[None], batch, axis=0)
        for name, det in detectors.items():
            tasks[name] = lambda det=det, crops=crops: det.classify(crops)
        if fer_crop64 is not None:
            faces = np.repeat(fer_crop64[None], batch, axis=0)
            for name, pipe in fer_pipes.items():
                tasks[name] = lambda pipe=pipe, faces=faces: pipe.backend.predict(faces)
        times = interleaved(tasks, args.repeats, args.warmup)
        classify[f"batch_{batch}"] = {n: summarise(t, per=batch) for n, t in times.items()}
        print(f"  classify batch {batch}: done", flush=True)

    detect: dict[str, dict[str, Any]] = {}
    for width, height in args.sizes:
        frame = letterbox(image, width, height)
        tasks = {}
        faces_found: dict[str, int] = {}
        for name, det in detectors.items():
            tasks[name] = lambda det=det, frame=frame: det.detect(frame)
            faces_found[name] = len(det.detect(frame))
        for name, pipe in fer_pipes.items():
            tasks[name] = lambda pipe=pipe, frame=frame: pipe.detect(frame)
            faces_found[name] = len(pipe.detect(frame))
        # Face finding alone, to tell the detector's share from the classifier's.
        base = detectors[BASELINE]
        tasks["moodlens find_faces only"] = lambda base=base, frame=frame: base.find_faces(frame)
        faces_found["moodlens find_faces only"] = len(base.find_faces(frame))
        if fer_pipes:
            first, pipe = next(iter(fer_pipes.items()))
            # fer's model on the faces moodlens finds: the same detector for both.
            hybrid = f"moodlens find_faces + {first} crops/model"
            tasks[hybrid] = lambda base=base, pipe=pipe, frame=frame: _hybrid(base, pipe, frame)
            faces_found[hybrid] = len(_hybrid(base, pipe, frame))
            fer_find = "fer Haar only (its settings)"
            tasks[fer_find] = lambda pipe=pipe, frame=frame: _fer_find(pipe, frame)
            faces_found[fer_find] = len(_fer_find(pipe, frame))
        times = interleaved(tasks, args.repeats, args.warmup)
        detect[f"{width}x{height}"] = {
            n: {**summarise(t), "faces": faces_found[n]} for n, t in times.items()
        }
        print(f"  detect {width}x{height}: done", flush=True)

    print()
    print(render(classify, detect, setup_s, parity, models))
    print_not_measured()
    if args.json:
        write_json(
            args.json,
            {
                "benchmark": "speed",
                "repeats": args.repeats,
                "warmup": args.warmup,
                "environment": env,
                "models": models,
                "classify_per_face": classify,
                "detect": detect,
                "ratio_definition": f"median of a contender / median of {BASELINE}, same run",
                "setup_seconds_single_run": setup_s,
                "parity": parity,
                "fer_skipped": fer_skipped or None,
                "not_measured": not_measured(),
            },
        )
    return 0


def _fer_find(pipe: ferref.FerPipeline, frame: np.ndarray) -> np.ndarray:
    return pipe.find_faces(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))


def _hybrid(detector: Any, pipe: ferref.FerPipeline, frame: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    boxes = np.asarray([tuple(b) for b in detector.find_faces(gray)], dtype=np.int64)
    crops, _ = ferref.crop_faces(gray, boxes.reshape(-1, 4))
    return pipe.backend.predict(crops) if len(crops) else np.zeros((0, len(ferref.LABELS)))


def _cell(stats: dict[str, float]) -> str:
    return f"{stats['median_ms']:.3f} ({stats['p25_ms']:.3f}-{stats['p75_ms']:.3f})"


def _ratio(group: dict[str, dict[str, float]], name: str) -> str:
    return f"{group[name]['median_ms'] / group[BASELINE]['median_ms']:.2f}x"


def render(classify, detect, setup_s, parity, models) -> str:
    lines = ["### Classification, ms per face: median (p25-p75); ratio = median / moodlens"]
    batches = list(classify)
    header = ["model"]
    for b in batches:
        header += [f"{b.replace('_', ' ')}", "ratio"]
    names = list(next(iter(classify.values())))
    rows = []
    for name in names:
        row = [name]
        for b in batches:
            row += [_cell(classify[b][name]), _ratio(classify[b], name)]
        rows.append(row)
    lines += ["", markdown_table(header, rows), ""]

    lines.append("### Full frame detect(), ms per frame: median (p25-p75); faces found")
    sizes = list(detect)
    header = ["pipeline"]
    for s in sizes:
        header += [s, "ratio", "faces"]
    rows = []
    for name in detect[sizes[0]]:
        row = [name]
        for s in sizes:
            row += [_cell(detect[s][name]), _ratio(detect[s], name), detect[s][name]["faces"]]
        rows.append(row)
    lines += ["", markdown_table(header, rows), ""]

    for name, meta in models.items():
        lines.append(f"- {name}: " + ", ".join(f"{k}={v}" for k, v in meta.items()))
    lines.append(
        "- setup, one measurement each, s: " + ", ".join(f"{k} {v:.2f}" for k, v in setup_s.items())
    )
    for k, v in parity.items():
        lines.append(f"- {k}: {v:.4f}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
