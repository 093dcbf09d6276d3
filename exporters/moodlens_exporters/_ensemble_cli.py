"""``moodlens-ensemble M1.onnx M2.onnx ... --out E.onnx``: one graph averaging members.

With ``--data``, a calibration (a temperature, or vector scaling: a scale and a bias
per class) is fitted on the Validation split (carved from Training) and baked into the
graph, and PublicTest is measured once, after it. One member is allowed with a
calibration: the output is that model with the calibration head.

Exit codes: 0 success, 1 a failure while running, 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from moodlens import MoodlensError, __version__

#: What the .export.json keeps of each split's evaluation.
_SPLIT_KEYS = ("faces", "accuracy", "macro_f1", "ece", "nll", "mean_confidence", "per_class")


def _weights(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected numbers like 1,2,1") from None
    if any(v < 0 for v in values) or sum(values) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: weights must be >= 0 and not all 0")
    return values


def _members_on_validation(args, val) -> list[dict]:
    """Each member's file, normalised weight, provenance metadata and Validation accuracy."""
    from moodlens_training import evaluate_model_with_scores

    w = np.ones(len(args.members)) if args.weights is None else np.asarray(args.weights)
    rows = []
    for path, weight in zip(args.members, (w / w.sum()).tolist(), strict=True):
        result, _ = evaluate_model_with_scores(path, val)
        meta = result["model_metadata"]
        rows.append(
            {
                "file": path.name,
                "weight": weight,
                "validation_accuracy": result["accuracy"],
                **{
                    key: meta[f"moodlens.{key}"]
                    for key in ("version", "architecture", "flip_tta", "selection_split")
                    if f"moodlens.{key}" in meta
                },
            }
        )
        print(f"member {path.name}: Validation accuracy {result['accuracy']:.4f}")
    return rows


def _fit(method: str, scores: np.ndarray, labels: np.ndarray) -> tuple[dict, dict]:
    """Fits ``method`` on Validation scores; returns (the fit's record, merge's keywords).
    Parameters are rounded so the graph, the metadata and the card hold the same values."""
    from ._calibrate import fit_temperature, fit_vector_scaling
    from ._ensemble import log_scores

    if method == "vector":
        scale, bias = (np.round(v, 4) for v in fit_vector_scaling(log_scores(scores), labels))
        return (
            {"method": "vector", "scale": scale.tolist(), "bias": bias.tolist()},
            {"vector": (scale, bias)},
        )
    temperature = round(fit_temperature(log_scores(scores), labels), 4)
    return {"method": "temperature", "temperature": temperature}, {"temperature": temperature}


def _merge(args, meta: dict[str, str], **calibration) -> None:
    """The members merged into ``args.out`` as the command line asks, with ``calibration``
    (``temperature=`` or ``vector=``) baked in when given."""
    from ._ensemble import merge

    merge(
        args.members,
        args.out,
        weights=args.weights,
        metadata=meta,
        flip_tta=args.flip_tta,
        **calibration,
    )


def _measure(args, faces: dict, meta: dict[str, str], report: dict) -> tuple[dict, dict] | None:
    """Validation: members, the plain average, the calibration; then PublicTest once,
    after the calibration is fixed. Fills ``report``; returns (Validation, PublicTest)
    evaluations of the shipped graph for the card."""
    from moodlens_training import VALIDATION, calibration, evaluate_model_with_scores

    from ._keras_to_onnx import set_metadata

    val = faces[VALIDATION]
    report["member_rows"] = _members_on_validation(args, val)
    fit = None
    with tempfile.TemporaryDirectory() as tmp:
        # the plain average: the merged graph, or the member itself when there is one
        plain = args.members[0]
        if len(args.members) > 1 or args.flip_tta:
            plain = Path(tmp) / "plain.onnx"
            shutil.copyfile(args.out, plain)
        val_result, scores = evaluate_model_with_scores(plain, val)
        if args.calibrate != "none":
            fit, keywords = _fit(args.calibrate, scores, val.labels)
            _merge(args, meta, **keywords)
            before = val_result
            val_result, _ = evaluate_model_with_scores(args.out, val)  # the shipped graph's
            fit.update(
                {
                    "validation_accuracy_before": before["accuracy"],
                    "validation_accuracy": val_result["accuracy"],
                    "validation_ece_before": before["ece"],
                    "validation_ece_after": val_result["ece"],
                    "validation_nll_before": before["nll"],
                    "validation_nll_after": val_result["nll"],
                }
            )
            print(
                f"{fit['method']} calibration (fitted on Validation): ECE "
                f"{fit['validation_ece_before']:.4f} -> {fit['validation_ece_after']:.4f}, "
                f"accuracy {before['accuracy']:.4f} -> {val_result['accuracy']:.4f} on Validation"
            )
        if args.ship_int8:
            # the graph that ships is the int8 one: everything from here on measures it
            fp32_val = val_result
            # args.out holds the merged (and calibrated) fp32 graph: the CLI refuses one
            # member with neither a calibration nor --flip-tta
            report["int8"] = _quantize(args, faces, args.out, args.out)
            val_result, _ = evaluate_model_with_scores(args.out, val)
            report["int8"]["validation_accuracy_fp32"] = fp32_val["accuracy"]
            report["int8"]["validation_accuracy"] = val_result["accuracy"]
            if fit:
                fit["validation_ece_after"] = val_result["ece"]
                fit["validation_nll_after"] = val_result["nll"]
                fit["validation_accuracy"] = val_result["accuracy"]
            print(
                f"int8 graph (ships as {args.out.name}): Validation accuracy "
                f"{val_result['accuracy']:.4f} (fp32 {fp32_val['accuracy']:.4f})"
            )
        report["calibration"] = fit
        report[VALIDATION] = {k: val_result[k] for k in _SPLIT_KEYS}
        print(f"{VALIDATION}: accuracy {val_result['accuracy']:.4f}, ECE {val_result['ece']:.4f}")
        if "PublicTest" not in faces:
            return None
        test = faces["PublicTest"]
        result, _ = evaluate_model_with_scores(args.out, test)  # the shipped graph
        report["PublicTest"] = {k: result[k] for k in _SPLIT_KEYS}
        print(f"PublicTest: accuracy {result['accuracy']:.4f}, ECE {result['ece']:.4f}")
        if fit:
            # "before": the plain average's scores on the same faces (it selects nothing)
            _, plain_scores = evaluate_model_with_scores(plain, test)
            fit["publictest_ece_before"] = calibration(test.labels, plain_scores)["ece"]
            fit["publictest_accuracy_before"] = float(
                (plain_scores.argmax(axis=1) == test.labels).mean()
            )
            fit["publictest_ece_after"] = result["ece"]
    meta["moodlens.publictest_accuracy"] = f"{result['accuracy']:.4f}"
    meta.update(
        {
            f"moodlens.{k}": f"{v:.4f}"
            for k, v in (fit or {}).items()
            if isinstance(v, float) and k != "temperature"
        }
    )
    set_metadata(args.out, {**result["model_metadata"], **meta})
    result["model_metadata"].update(meta)
    return val_result, result


def _quantize(args, faces: dict, source: Path, out: Path) -> dict:
    """int8 QDQ (per-channel) of ``source`` -> ``out``, calibrated on Training faces
    (never Validation or PublicTest); ``out`` may be ``source``."""
    from ._quantize import quantize_int8

    train = faces["Training"]
    pick = np.sort(np.random.default_rng(0).permutation(len(train))[: args.calibration_size])
    fp32_size = source.stat().st_size
    with tempfile.TemporaryDirectory() as tmp:
        written = quantize_int8(
            source,
            Path(tmp) / "int8.onnx",
            # the graph takes pixels scaled to [0, 1]; each branch normalises for itself
            (train.images[pick].astype(np.float32) / 255.0)[..., None],
        )
        shutil.move(written, out)
    return {
        "path": str(out),
        "size_bytes": out.stat().st_size,
        "fp32_size_bytes": fp32_size,
        "calibration_faces": len(pick),
        "shipped": out == args.out,
    }


def _int8(args, faces: dict, report: dict) -> dict:
    """An int8 copy of the merged graph beside it (``<out>.int8.onnx``), scored on
    PublicTest once."""
    from moodlens_training import evaluate_model

    int8 = _quantize(args, faces, args.out, args.out.with_suffix(".int8.onnx"))
    result = evaluate_model(Path(int8["path"]), faces["PublicTest"])
    int8["publictest_accuracy"] = result["accuracy"]
    int8["publictest_ece"] = result["ece"]
    report["int8"] = int8
    int8_path = int8["path"]
    print(f"int8 copy {int8_path}: PublicTest accuracy {result['accuracy']:.4f}")
    return int8


def _write_card(args, argv, report: dict, validation: dict, evaluation: dict) -> None:
    from moodlens_training import plot_confusion

    from ._card import write_ensemble_card
    from ._cli import END_TO_END_FACES, card_paths
    from .face_measure import end_to_end, load_fer_faces

    card, confusion = card_paths(args.out)
    plot_confusion(
        np.asarray(evaluation["confusion"]),
        confusion,
        title=f"PublicTest accuracy {evaluation['accuracy']:.1%}",
    )
    faces, labels = load_fer_faces(args.data, "PublicTest", END_TO_END_FACES, seed=1)
    e2e = end_to_end(args.out, faces, labels)
    report["end_to_end"] = e2e
    write_ensemble_card(
        card,
        evaluation=evaluation,
        validation=validation,
        members=report["member_rows"],
        weights_given=args.weights is not None,
        command=shlex.join(["moodlens-ensemble", *(sys.argv[1:] if argv is None else argv)]),
        calibration=report["calibration"],
        confusion_file=confusion.name,
        end_to_end=e2e,
        int8=report.get("int8"),
    )
    print(f"wrote {card} and {confusion}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="moodlens-ensemble",
        description=__doc__.split("\n", 1)[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"moodlens-ensemble {__version__}")
    p.add_argument("members", nargs="+", type=Path, help="member .onnx models (moodlens-export)")
    p.add_argument("--out", type=Path, required=True, help="the merged .onnx to write")
    p.add_argument(
        "--weights",
        type=_weights,
        default=None,
        help="comma-separated, one per member, chosen on Validation (default: equal)",
    )
    p.add_argument("--model-version", default="ensemble", help="the merged model's version")
    p.add_argument("--name", default="accurate", help="the merged model's name")
    p.add_argument(
        "--data",
        help="fer2013.csv[.gz]: fit the calibration and measure on Validation, then "
        "PublicTest once",
    )
    p.add_argument(
        "--calibrate",
        choices=("temperature", "vector", "none"),
        default="temperature",
        help="with --data, what is fitted on the Validation split carved from Training and "
        "baked into the graph: one temperature (never moves the argmax), vector scaling (a "
        "scale and a bias per class; benchmarks/bench_calibration.py compares them) or none",
    )
    p.add_argument("--no-calibrate", action="store_true", help="the same as --calibrate none")
    p.add_argument(
        "--card",
        action="store_true",
        help="write <out>.card.md and <out>.confusion.png beside --out (needs --data)",
    )
    p.add_argument(
        "--int8",
        action="store_true",
        help="also write an int8 QDQ copy (<out>.int8.onnx), calibrated on Training faces "
        "and scored on PublicTest (needs --data)",
    )
    p.add_argument(
        "--ship-int8",
        action="store_true",
        help="--out is the int8 QDQ graph itself: the calibration is fitted on the fp32 "
        "graph, which is then quantised (calibrated on Training faces); Validation, "
        "PublicTest and the card measure the int8 graph (needs --data)",
    )
    p.add_argument(
        "--calibration-size", type=int, default=512, help="Training faces that calibrate int8"
    )
    p.add_argument(
        "--flip-tta",
        action="store_true",
        help="each member also scores the mirrored face and averages its two scores "
        "(twice the compute per face); members exported with --flip-tta are refused",
    )
    args = p.parse_args(argv)
    if args.no_calibrate:
        args.calibrate = "none"
    if len(args.members) == 1 and not args.flip_tta and (args.calibrate == "none" or not args.data):
        p.error(
            "one member is only useful with --flip-tta, or with --data and a calibration "
            "(the output is that model, calibrated); give two or more members to merge"
        )
    if args.ship_int8 and not args.data:
        p.error("--ship-int8 needs --data: it is calibrated on Training faces and measured")
    if args.ship_int8 and args.int8:
        p.error("--ship-int8 writes the int8 graph as --out; --int8 would quantise it again")
    if args.int8 and not args.data:
        p.error("--int8 needs --data: it is calibrated on Training faces and scored on PublicTest")
    if args.card and not args.data:
        p.error("--card needs --data: the card reports the Validation and PublicTest evaluation")
    if args.weights is not None and len(args.weights) != len(args.members):
        p.error(f"--weights has {len(args.weights)} values for {len(args.members)} members")
    missing = [str(m) for m in args.members if not m.is_file()]
    if missing:
        print(f"moodlens-ensemble: error: no such model: {', '.join(missing)}", file=sys.stderr)
        return 1
    from moodlens_training import DataError, load_faces, require_train_extra, with_validation

    from ._keras_to_onnx import ExportError

    try:
        require_train_extra("moodlens-ensemble", ("onnx",))
        meta = {"moodlens.version": args.model_version, "moodlens.name": args.name}
        out = args.out
        if len(args.members) > 1 or args.flip_tta:
            _merge(args, meta)  # the plain average; _measure replaces it when it calibrates
        report: dict = {
            "members": [str(m) for m in args.members],
            "weights": args.weights,
            "flip_tta": args.flip_tta,
        }
        faces = with_validation(load_faces(args.data)) if args.data else {}
        measured = _measure(args, faces, meta, report) if args.data else None
        if args.card and measured is None:
            raise ExportError(f"--card needs a PublicTest split in {args.data}; it has none.")
        if args.int8 and measured:
            _int8(args, faces, report)
        if args.card and measured:
            _write_card(args, argv, report, *measured)
        out.with_suffix(".export.json").write_text(json.dumps(report, indent=2))
    except (ExportError, DataError, MoodlensError, OSError) as exc:
        print(f"moodlens-ensemble: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
