"""``moodlens-export RUN --out model.onnx``: Keras run folder -> checked ONNX model.

Exit codes, as for every moodlens command: 0 success, 1 a failure while running
(a run folder, data or model that cannot be used; a missing ``train`` extra), 2
a usage error (with the usage line).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np
from moodlens import MoodlensError, __version__

RUN_FILES = ("config.json", "state.json")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none to show."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or "%(default)" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _positive(kind: type):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, got {value}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _run_folder_problem(run: Path) -> str | None:
    """What is wrong with ``run`` as a moodlens-train run folder, or None."""
    hint = "pass the folder given to `moodlens-train --out`"
    if not run.exists():
        return f"run folder {run} does not exist; {hint}"
    if not run.is_dir():
        return f"{run} is a file, not a run folder; {hint}"
    missing = [name for name in RUN_FILES if not (run / name).is_file()]
    if missing:
        return f"{run} is not a moodlens-train run folder (no {', '.join(missing)}); {hint}"
    return None


def _normalised(images: np.ndarray, config: dict) -> np.ndarray:
    return ((images.astype(np.float32) / 255.0 - config["mean"]) / config["std"])[..., None]


def _best_epoch(log: Path) -> int | None:
    """1-based epoch with the best selection-split accuracy in a run's log.csv."""
    import csv

    if not log.is_file():
        return None
    with log.open() as f:
        rows = [r for r in csv.DictReader(f) if r.get("val_accuracy")]
    if not rows:
        return None
    best = max(rows, key=lambda r: float(r["val_accuracy"]))
    return int(best["epoch"]) + 1


def _step(message: str) -> None:
    """A progress line on stderr: what the export is doing now (some steps take minutes)."""
    print(f"moodlens-export: {message}", file=sys.stderr, flush=True)


#: PublicTest faces the card's end-to-end section places into frames (the face-finder
#: benchmark's first 300, same seed: its README table and the card agree).
END_TO_END_FACES = 300


def card_paths(out: Path) -> tuple[Path, Path]:
    """The model card and confusion plot of a model file: one pair per model, no collisions."""
    return out.with_suffix(".card.md"), out.with_suffix(".confusion.png")


def _write_card(args, argv, config: dict, state: dict, report: dict, evaluation: dict) -> None:
    from moodlens_training import plot_confusion

    from ._card import write_model_card

    card, confusion = card_paths(args.out)
    plot_confusion(
        np.asarray(evaluation["confusion"]),
        confusion,
        title=f"PublicTest accuracy {evaluation['accuracy']:.1%}",
    )
    train_cmd = (
        f"moodlens-train --data fer2013.csv --out runs/{args.run.name} "
        f"--arch {config['architecture']} --epochs {config['epochs']} --seed {config['seed']}"
        + ("" if config.get("mixed_bfloat16", True) else " --float32")
        + (f" --teacher {Path(config['teacher']).name}" if config.get("teacher") else "")
    )
    command = "moodlens-export " + " ".join(sys.argv[1:] if argv is None else argv)
    from .face_measure import end_to_end, load_fer_faces

    _step(f"measuring end to end through detect() on {END_TO_END_FACES} PublicTest faces")
    faces, labels = load_fer_faces(args.data, "PublicTest", END_TO_END_FACES, seed=1)
    write_model_card(
        card,
        evaluation=evaluation,
        config=config,
        state=state,
        command=command,
        train_command=train_cmd,
        training_seconds=state.get("train_seconds"),
        parity=report["parity"],
        calibration=report.get("calibration"),
        confusion_file=confusion.name,
        int8=report.get("int8"),
        end_to_end=end_to_end(args.out, faces, labels),
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="moodlens-export",
        description=__doc__.split("\n", 1)[0],
        formatter_class=_HelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"moodlens-export {__version__}")
    p.add_argument("run", type=Path, help="a run folder written by moodlens-train")
    p.add_argument("--out", type=Path, required=True, help="the .onnx file to write")
    p.add_argument(
        "--checkpoint",
        default="best",
        choices=["best", "last"],
        help="best: the run's best.keras; last: its last.keras (the latest epoch)",
    )
    p.add_argument(
        "--flip-tta",
        action="store_true",
        help="bake mirror-image averaging into the graph (2x compute per face)",
    )
    p.add_argument("--data", help="fer2013.csv[.gz]: parity on real faces and PublicTest accuracy")
    p.add_argument(
        "--model-version", default=None, help="model version (default: the run folder's name)"
    )
    p.add_argument(
        "--tolerance", type=_positive(float), default=1e-4, help="parity: max |keras - onnx|"
    )
    p.add_argument(
        "--int8", action="store_true", help="also write an int8 QDQ model (<out>.int8.onnx)"
    )
    p.add_argument("--calibration", help="faces for int8 calibration (fer2013.csv: Training rows)")
    p.add_argument(
        "--calibration-size", type=_positive(int), default=512, help="faces used to calibrate int8"
    )
    p.add_argument(
        "--card",
        action="store_true",
        help="write <out>.card.md and <out>.confusion.png beside --out (needs --data)",
    )
    p.add_argument(
        "--name", default=None, help="the model's name in its metadata and card (default: version)"
    )
    p.add_argument(
        "--no-calibrate",
        action="store_true",
        help="skip temperature scaling (by default, with --data, T is fitted on the Validation "
        "split carved from Training and baked into the graph)",
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # tf2onnx's INFO lines (versions, constant folding, op counts) are noise beside the
    # steps this command says itself; its warnings and errors still show.
    logging.getLogger("tf2onnx").setLevel(logging.WARNING)
    if args.card and not args.data:
        p.error("--card needs --data: the card reports the PublicTest evaluation")
    if args.int8 and not (args.calibration or args.data):
        p.error("--int8 needs --calibration (or --data) to calibrate on real faces")
    problem = _run_folder_problem(args.run)
    if problem:
        print(f"moodlens-export: error: {problem}", file=sys.stderr)
        return 1
    from moodlens_training import DataError, load_faces, require_train_extra, with_validation

    try:
        require_train_extra("moodlens-export", ("tensorflow", "keras", "tf2onnx", "onnx"))
    except MoodlensError as exc:
        print(f"moodlens-export: error: {exc}", file=sys.stderr)
        return 1
    from ._keras_to_onnx import (
        ExportError,
        convert,
        load_float32,
        model_metadata,
        parity,
        set_metadata,
        with_head,
    )

    try:
        config = json.loads((args.run / "config.json").read_text())
        state = json.loads((args.run / "state.json").read_text())
        state["best_epoch"] = _best_epoch(args.run / "log.csv")
        checkpoint = args.run / f"{args.checkpoint}.keras"
        if not checkpoint.is_file():
            raise ExportError(f"{checkpoint} does not exist; has the run finished an epoch?")
        faces = None
        if args.data:
            _step(f"loading faces from {args.data}")
            faces = with_validation(load_faces(args.data))
        _step(f"loading {checkpoint} (rebuilt in float32)")
        base = load_float32(checkpoint)
        calibration = None
        if faces and not args.no_calibrate:
            from ._calibrate_run import calibrate

            _step(f"fitting the temperature on {len(faces['Validation'])} Validation faces")
            calibration = calibrate(base, faces, config, flip_tta=args.flip_tta)
            print(
                f"temperature {calibration['temperature']:.3f} (fitted on Validation): ECE "
                f"{calibration['validation_ece_before']:.4f} -> "
                f"{calibration['validation_ece_after']:.4f} on Validation"
            )
        temperature = calibration["temperature"] if calibration else 1.0
        model = with_head(base, args.flip_tta, temperature)
        version = args.model_version or args.run.name
        extra = {f"moodlens.{k}": f"{v:.4f}" for k, v in (calibration or {}).items()}

        def metadata(accuracy: float | None) -> dict[str, str]:
            return model_metadata(
                config,
                state,
                flip_tta=args.flip_tta,
                version=version,
                accuracy=accuracy,
                name=args.name or "",
                extra=extra,
            )

        meta = metadata(None)
        _step(f"converting to ONNX (tf2onnx) -> {args.out}")
        convert(model, args.out, meta)
        if faces and "PublicTest" in faces:
            check_inputs = _normalised(faces["PublicTest"].images, config)
        else:
            check_inputs = np.random.default_rng(0).normal(size=(256, 48, 48, 1)).astype(np.float32)
        _step(f"checking Keras vs ONNX Runtime parity on {len(check_inputs)} faces")
        result = parity(model, args.out, check_inputs)
        print(
            f"parity: {result.faces} faces, max |keras - onnx| = {result.max_abs_diff:.2e}, "
            f"argmax agreement {result.argmax_agreement:.2%}"
        )
        result.check(args.tolerance)
        report: dict = {"parity": result.__dict__, "calibration": calibration}
        if faces and "PublicTest" in faces:
            from moodlens_training import evaluate_model

            _step(f"evaluating on {len(faces['PublicTest'])} PublicTest faces (through the SDK)")
            evaluation = evaluate_model(args.out, faces["PublicTest"], progress="PublicTest")
            set_metadata(
                args.out, metadata(evaluation["accuracy"])
            )  # same graph, now with its measured accuracy
            report["publictest_accuracy"] = evaluation["accuracy"]
            print(f"PublicTest accuracy (through the SDK): {evaluation['accuracy']:.4f}")
        if args.int8:
            from moodlens_training import evaluate_model

            from ._quantize import quantize_int8

            if args.calibration:
                _step(f"loading calibration faces from {args.calibration}")
            cal_faces = load_faces(args.calibration) if args.calibration else faces
            train = cal_faces["Training"]
            pick = np.random.default_rng(0).permutation(len(train))[: args.calibration_size]
            int8_path = args.out.with_suffix(".int8.onnx")
            _step(f"quantizing to int8 (calibrated on {len(pick)} Training faces) -> {int8_path}")
            quantize_int8(args.out, int8_path, _normalised(train.images[np.sort(pick)], config))
            report["int8"] = {
                "path": str(int8_path),
                "size_bytes": int8_path.stat().st_size,
                "fp32_size_bytes": args.out.stat().st_size,
            }
            if faces and "PublicTest" in faces:
                _step("evaluating the int8 model on PublicTest")
                int8_eval = evaluate_model(int8_path, faces["PublicTest"], progress="int8")
                acc8 = int8_eval["accuracy"]
                report["int8"]["publictest_accuracy"] = acc8
                print(
                    f"int8 PublicTest accuracy: {acc8:.4f} "
                    f"({acc8 - report['publictest_accuracy']:+.4f} vs float32)"
                )
            print(
                f"int8 model: {int8_path} ({int8_path.stat().st_size / 1e6:.2f} MB); measure its "
                "speed in a fresh process: python benchmarks/bench_speed.py --int8 PATH"
            )
        args.out.with_suffix(".export.json").write_text(json.dumps(report, indent=2))
        if args.card and "publictest_accuracy" in report:
            _step(f"writing the model card {card_paths(args.out)[0]}")
            _write_card(args, argv, config, state, report, evaluation)
    except (ExportError, DataError, MoodlensError, OSError, KeyError) as exc:
        print(f"moodlens-export: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("moodlens-export: interrupted", file=sys.stderr)
        return 130
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0
