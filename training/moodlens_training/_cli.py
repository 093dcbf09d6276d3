"""Command lines: ``moodlens-train`` and ``moodlens-evaluate``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from ._data import DataError


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
    return faces


def train_main(argv: list[str] | None = None) -> int:
    """``moodlens-train --data fer2013.csv --out runs/v1``: trains, checkpointing every epoch."""
    from ._train import TrainConfig

    defaults = TrainConfig()
    p = argparse.ArgumentParser(prog="moodlens-train", description=train_main.__doc__)
    p.add_argument(
        "--data", required=True, help="fer2013.csv[.gz] or an image folder (train/, test/)"
    )
    p.add_argument("--out", required=True, type=Path, help="run folder (checkpoints, logs, config)")
    p.add_argument("--arch", default=defaults.architecture, choices=["vgg", "mini_xception"])
    p.add_argument("--epochs", type=int, default=defaults.epochs)
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--lr", type=float, default=defaults.learning_rate)
    p.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--patience", type=int, default=0, help="early stop on Validation; 0: off")
    p.add_argument(
        "--limit", type=int, default=0, help="train on this many faces only (smoke runs)"
    )
    p.add_argument("--float32", action="store_true", help="no mixed_bfloat16")
    p.add_argument("--ferplus", help="FER+ fer2013new.csv, row-aligned with --data")
    p.add_argument("--ferplus-mode", default="majority", choices=["majority", "soft"])
    p.add_argument(
        "--crop-margin",
        type=float,
        default=defaults.crop_margin,
        help="per-side margin around a detector box that matches the data's framing",
    )
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--quiet", action="store_true", help="one line per epoch, no progress bar")
    args = p.parse_args(argv)
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
    )
    try:
        faces = _load(args)
        from ._train import train

        state = train(cfg, faces, args.out, resume=args.resume, verbose=2 if args.quiet else 1)
    except (DataError, ValueError) as exc:
        print(f"moodlens-train: error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(state, indent=2))
    return 0


def evaluate_main(argv: list[str] | None = None) -> int:
    """``moodlens-evaluate model.onnx --data fer2013.csv --split PublicTest --report DIR``."""
    p = argparse.ArgumentParser(prog="moodlens-evaluate", description=evaluate_main.__doc__)
    p.add_argument("model", type=Path, help="an exported .onnx model")
    p.add_argument("--data", required=True)
    p.add_argument(
        "--split",
        default="PublicTest",
        choices=["Training", "Validation", "PublicTest", "PrivateTest"],
    )
    p.add_argument("--report", type=Path, help="folder for report.json, report.md, confusion.png")
    p.add_argument(
        "--flip-tta",
        action="store_true",
        help="also average each face with its mirror image (costs 2x)",
    )
    args = p.parse_args(argv)
    try:
        faces = _load(args)
        if args.split not in faces:
            raise DataError(f"{args.data}: no {args.split} rows (found {', '.join(faces)}).")
        from ._evaluate import evaluate_model, write_report

        result = evaluate_model(args.model, faces[args.split], flip_tta=args.flip_tta)
        result["data"], result["split"] = str(args.data), args.split
        if args.report:
            write_report(result, args.report)
    except DataError as exc:
        print(f"moodlens-evaluate: error: {exc}", file=sys.stderr)
        return 1
    from ._evaluate import format_report

    print(format_report(result))
    return 0
