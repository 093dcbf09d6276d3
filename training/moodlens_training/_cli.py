"""Command lines: ``moodlens-train`` and ``moodlens-evaluate``.

Exit codes, as for every moodlens command: 0 success, 1 a failure while running
(data, model or run folder that cannot be used; a missing ``train`` extra), 2 a
usage error (with the usage line). TensorFlow's C++ log noise is kept off here,
by the command line, before TensorFlow is imported; importing the library sets
nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from moodlens import MoodlensError, __version__

from ._data import DataError
from ._extra import require_train_extra


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none to show."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or "%(default)" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _number(text: str, kind: type) -> Any:
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None


def _positive_int(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = _number(text, float)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value}")
    return value


def _fraction(text: str) -> float:
    value = _number(text, float)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be from 0 up to (not including) 1, got {value}")
    return value


def _load(args: argparse.Namespace):
    """The data set's splits, Validation carved from Training (before any relabelling).

    FER+ labels replace only the Training split's: Validation, which selects the
    model, and the test splits keep the labels that evaluation and export score.
    """
    from ._data import attach_ferplus, load_faces, load_ferplus_votes, with_validation

    faces = with_validation(load_faces(args.data))
    if getattr(args, "ferplus", None):
        votes = load_ferplus_votes(args.ferplus)
        faces["Training"] = attach_ferplus(faces["Training"], votes, args.ferplus_mode)
    if getattr(args, "teacher", None):
        from moodlens import EmotionDetector

        from ._data import attach_teacher

        # The teacher scores Training faces only; Validation keeps its own labels.
        with EmotionDetector(model=args.teacher) as teacher:
            probabilities = teacher.classify(faces["Training"].images)
        faces["Training"] = attach_teacher(faces["Training"], probabilities, args.teacher_weight)
    return faces


def train_main(argv: list[str] | None = None) -> int:
    """``moodlens-train --data fer2013.csv --out runs/v1``: trains, checkpointing every epoch."""
    from ._train import ARCHITECTURE_NAMES, TrainConfig

    defaults = TrainConfig()
    p = argparse.ArgumentParser(
        prog="moodlens-train", description=train_main.__doc__, formatter_class=_HelpFormatter
    )
    p.add_argument("--version", action="version", version=f"moodlens-train {__version__}")
    p.add_argument(
        "--data", required=True, help="fer2013.csv[.gz] or an image folder (train/, test/)"
    )
    p.add_argument("--out", required=True, type=Path, help="run folder (checkpoints, logs, config)")
    p.add_argument(
        "--arch",
        default=defaults.architecture,
        choices=sorted(ARCHITECTURE_NAMES),
        help="model architecture",
    )
    p.add_argument("--epochs", type=_positive_int, default=defaults.epochs, help="epochs to train")
    p.add_argument(
        "--batch-size", type=_positive_int, default=defaults.batch_size, help="faces per step"
    )
    p.add_argument(
        "--lr", type=_positive_float, default=defaults.learning_rate, help="peak learning rate"
    )
    p.add_argument(
        "--label-smoothing", type=_fraction, default=defaults.label_smoothing, help="0: off"
    )
    p.add_argument("--seed", type=int, default=defaults.seed, help="random seed")
    p.add_argument(
        "--patience", type=_non_negative_int, default=0, help="early stop on Validation; 0: off"
    )
    p.add_argument(
        "--limit",
        type=_non_negative_int,
        default=0,
        help="train on this many faces only (smoke runs); 0: all",
    )
    p.add_argument("--float32", action="store_true", help="no mixed_bfloat16")
    p.add_argument("--ferplus", help="FER+ fer2013new.csv, row-aligned with --data")
    p.add_argument(
        "--ferplus-mode",
        default="majority",
        choices=["majority", "soft"],
        help="how FER+ votes become labels (with --ferplus)",
    )
    p.add_argument(
        "--crop-margin",
        type=_fraction,
        default=defaults.crop_margin,
        help="per-side margin around a detector box that matches the data's framing",
    )
    p.add_argument(
        "--teacher",
        help="distil: a moodlens .onnx model (e.g. an ensemble) whose scores on the Training "
        "faces become soft targets; it must not have seen the Validation faces",
    )
    p.add_argument(
        "--teacher-weight",
        type=_fraction,
        default=defaults.teacher_weight,
        help="share of the teacher's scores in each target (with --teacher)",
    )
    p.add_argument(
        "--balance",
        type=_fraction,
        default=defaults.balance,
        help="class-balanced sampling: each face is drawn with probability proportional to "
        "count(its class) ** -BALANCE (1: every class equally often, 0.5: square root, 0: off)",
    )
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--quiet", action="store_true", help="one line per epoch, no progress bar")
    args = p.parse_args(argv)
    try:
        require_train_extra("moodlens-train")  # before any data is read
    except MoodlensError as exc:
        print(f"moodlens-train: error: {exc}", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    cfg = TrainConfig(
        architecture=args.arch,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        label_smoothing=args.label_smoothing,
        seed=args.seed,
        mixed_bfloat16=not args.float32,
        patience=args.patience,
        limit=args.limit,
        data=str(args.data),
        ferplus=args.ferplus or "",
        ferplus_mode=args.ferplus_mode if args.ferplus else "",
        crop_margin=args.crop_margin,
        teacher=str(args.teacher or ""),
        teacher_weight=args.teacher_weight if args.teacher else 0.0,
        balance=args.balance,
    )
    try:
        faces = _load(args)
        from ._train import train

        state = train(cfg, faces, args.out, resume=args.resume, verbose=2 if args.quiet else 1)
    except (DataError, MoodlensError, ValueError, OSError) as exc:
        print(f"moodlens-train: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            f"moodlens-train: interrupted; continue with --resume --out {args.out}", file=sys.stderr
        )
        return 130
    print(json.dumps(state, indent=2))
    return 0


def evaluate_main(argv: list[str] | None = None) -> int:
    """``moodlens-evaluate model.onnx --data fer2013.csv --split PublicTest --report DIR``."""
    p = argparse.ArgumentParser(
        prog="moodlens-evaluate", description=evaluate_main.__doc__, formatter_class=_HelpFormatter
    )
    p.add_argument("--version", action="version", version=f"moodlens-evaluate {__version__}")
    p.add_argument("model", type=Path, help="an exported .onnx model")
    p.add_argument(
        "--data", required=True, help="fer2013.csv[.gz] or an image folder (train/, test/)"
    )
    p.add_argument(
        "--split",
        default="PublicTest",
        choices=["Training", "Validation", "PublicTest", "PrivateTest"],
        help="which faces to score",
    )
    p.add_argument("--report", type=Path, help="folder for report.json, report.md, confusion.png")
    p.add_argument(
        "--flip-tta",
        action="store_true",
        help="also average each face with its mirror image (costs 2x)",
    )
    args = p.parse_args(argv)

    def step(message: str) -> None:  # progress on stderr: stdout is the report
        print(f"moodlens-evaluate: {message}", file=sys.stderr, flush=True)

    try:
        step(f"checking the model {args.model}")
        _check_model(args.model)  # at once, before the data loads
        step(f"loading faces from {args.data}")
        faces = _load(args)
        if args.split not in faces:
            raise DataError(f"{args.data}: no {args.split} rows (found {', '.join(faces)}).")
        from ._evaluate import evaluate_model, write_report

        step(
            f"scoring {len(faces[args.split])} {args.split} faces"
            + (" and their mirror images" if args.flip_tta else "")
        )
        result = evaluate_model(
            args.model, faces[args.split], flip_tta=args.flip_tta, progress=args.split
        )
        step(f"scored in {result['seconds']:.1f} s")
        result["data"], result["split"] = str(args.data), args.split
        if args.report:
            step(f"writing report.json, report.md and confusion.png to {args.report}")
            write_report(result, args.report)
    except (DataError, MoodlensError, OSError) as exc:
        print(f"moodlens-evaluate: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("moodlens-evaluate: interrupted", file=sys.stderr)
        return 130
    from ._evaluate import format_report

    print(format_report(result))
    return 0


def _check_model(path: Path) -> None:
    """Opens the model as the SDK will, so a wrong path or file fails before the data loads.

    Raises:
        ModelError: missing, unreadable or not a moodlens model (the message says what to do).
    """
    from moodlens import EmotionDetector

    with EmotionDetector(model=path):
        pass
