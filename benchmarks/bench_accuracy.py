"""FER2013 PublicTest accuracy of moodlens and of fer's model, on the same faces.

moodlens is measured through ``EmotionDetector.classify`` (what users call); fer's
model through its own preprocessing (48x48 faces resized to 64x64, scaled to [-1, 1]),
in its default TFLite form and as the Keras hdf5. See benchmarks/README.md.

Example:
    python benchmarks/bench_accuracy.py --data fer2013.csv.gz --json results/accuracy.json
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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

LABELS = ferref.LABELS
DATA_ENV = "MOODLENS_FER2013"


def scores_to_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """The project's own metrics (moodlens_training), flattened for the tables here."""
    from moodlens_training import calibration, metrics

    m = metrics(labels, scores.argmax(axis=1))
    cal = calibration(labels, scores)
    per_class = m["per_class"]
    return {
        "n": m["faces"],
        "accuracy": m["accuracy"],
        "macro_f1": m["macro_f1"],
        "ece": cal["ece"],
        "mean_confidence": cal["mean_confidence"],
        "recall": {c: v["recall"] for c, v in per_class.items()},
        "precision": {c: v["precision"] for c, v in per_class.items()},
        "support": {c: v["support"] for c, v in per_class.items()},
        "confusion": m["confusion"],
    }


def evaluate(name: str, label: str, predict, images: np.ndarray, labels: np.ndarray, batch: int):
    start = time.perf_counter()
    scores = np.concatenate([predict(images[i : i + batch]) for i in range(0, len(images), batch)])
    seconds = time.perf_counter() - start
    if scores.shape != (len(images), len(LABELS)):
        raise RuntimeError(f"{name}: scores of shape {scores.shape}; expected ({len(images)}, 7)")
    result = {"name": name, "label": label, **scores_to_metrics(labels, scores)}
    result["seconds"] = round(seconds, 2)
    print(f"  {name}: accuracy {result['accuracy']:.4f} ({seconds:.1f} s)", flush=True)
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data",
        default=os.environ.get(DATA_ENV),
        help=f"fer2013.csv[.gz] with PublicTest rows (default: ${DATA_ENV})",
    )
    p.add_argument(
        "--split",
        default="PublicTest",
        choices=["Validation", "PublicTest", "PrivateTest"],
        help="Validation: the split carved from Training that selects models",
    )
    p.add_argument("--limit", type=int, default=None, help="first N faces only (quick runs)")
    p.add_argument(
        "--model",
        action="append",
        default=None,
        help="a bundled model name (default, fast, ...) or an .onnx path; repeat for several "
        "(default: the bundled default model)",
    )
    p.add_argument("--int8", default=None, help="also measure this int8 moodlens .onnx")
    p.add_argument(
        "--fer",
        default="tflite,keras",
        help=f"fer backends, comma-separated from {','.join(ferref.BACKENDS)}; '' for none",
    )
    p.add_argument("--threads", type=int, default=1, help="threads per runtime (default 1)")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "moodlens-bench")
    p.add_argument("--json", default=None, help="write the full result here")
    return p.parse_args(argv)


def load_faces(args: argparse.Namespace):
    if not args.data:
        skip(f"no FER2013 data given: pass --data fer2013.csv[.gz] or set ${DATA_ENV}.")
    if not Path(args.data).is_file():
        skip(f"FER2013 data not found at {args.data}.")
    try:
        from moodlens_training import load_fer2013_csv, with_validation
    except ImportError as exc:
        skip(f"moodlens_training is not importable ({exc}); pip install -e '.[train]'.")
    if args.split == "Validation":
        faces = with_validation(load_fer2013_csv(args.data, splits=("Training",)))
    else:
        faces = load_fer2013_csv(args.data, splits=(args.split,))
    if args.split not in faces or len(faces[args.split]) == 0:
        skip(f"{args.data} has no {args.split} rows.")
    subset = faces[args.split]
    n = len(subset) if args.limit is None else min(args.limit, len(subset))
    return subset.images[:n], subset.labels[:n].astype(np.int64)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    images, labels = load_faces(args)
    from moodlens import EmotionDetector

    env = environment(args.threads)
    print_environment(env)
    print(f"\nFaces: {len(images)} from {args.split} of {args.data}\n")

    results: list[dict[str, Any]] = []
    models: dict[str, Any] = {}
    candidates = [(f"moodlens {m}", m) for m in (args.model or ["default"])]
    if args.int8:
        candidates.append(("moodlens int8", args.int8))
    for name, path in candidates:
        detector = EmotionDetector(path, threads=args.threads)
        summary = moodlens_model_summary(detector.info)
        models[name] = {"path": str(path or "bundled"), **summary}
        label = f"{name} {summary.get('version', '?')} ({summary.get('architecture', '?')})"
        results.append(evaluate(name, label, detector.classify, images, labels, args.batch))
        detector.close()

    fer_skipped = ""
    wanted = [b for b in args.fer.split(",") if b]
    install, why = ferref.find_fer() if wanted else (None, "no fer backend asked for")
    if install is None:
        fer_skipped = why
        print(f"  fer: skipped, {why}")
    else:
        models["fer"] = {"version": install.version, "data_dir": str(install.data_dir)}
        faces64 = ferref.resize_crops(images)  # fer's cv2.resize to its 64x64 input
        for backend_name in wanted:
            backend = ferref.make_backend(backend_name, install, args.threads, args.cache_dir)
            name = f"fer ({backend_name})"
            results.append(
                evaluate(name, backend.label, backend.predict, faces64, labels, args.batch)
            )

    print()
    print(render(results, models, args, len(images)))
    print_not_measured()
    if args.json:
        write_json(
            args.json,
            {
                "benchmark": "accuracy",
                "split": args.split,
                "limit": args.limit,
                "n": len(images),
                "environment": env,
                "models": models,
                "results": results,
                "fer_skipped": fer_skipped or None,
                "not_measured": not_measured(),
            },
        )
    return 0


def render(results: list[dict], models: dict, args: argparse.Namespace, n: int) -> str:
    header = ["model", "accuracy", "macro-F1", "ECE", *(f"{c} recall" for c in LABELS)]
    rows = [
        [
            r["name"],
            f"{r['accuracy']:.4f}",
            f"{r['macro_f1']:.4f}",
            f"{r['ece']:.3f}",
            *(f"{r['recall'][c]:.3f}" for c in LABELS),
        ]
        for r in results
    ]
    lines = [f"### FER2013 {args.split}, {n} faces" + (" (--limit)" if args.limit else "")]
    lines += ["", markdown_table(header, rows), ""]
    for r in results:
        lines.append(f"- {r['name']}: {r['label']}")
    for name, meta in models.items():
        if name.startswith("moodlens"):
            claimed = meta.get("publictest_accuracy")
            lines.append(
                f"- {name} model metadata: "
                + ", ".join(f"{k}={v}" for k, v in meta.items())
                + (f" (metadata claims PublicTest accuracy {claimed})" if claimed else "")
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
