"""``moodlens-ensemble M1.onnx M2.onnx ... --out E.onnx``: one graph averaging members.

Exit codes: 0 success, 1 a failure while running, 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from moodlens import MoodlensError, __version__


def _weights(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected numbers like 1,2,1") from None
    if any(v < 0 for v in values) or sum(values) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: weights must be >= 0 and not all 0")
    return values


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
        "--data", help="fer2013.csv[.gz]: measure Validation and PublicTest accuracy, once"
    )
    args = p.parse_args(argv)
    if args.weights is not None and len(args.weights) != len(args.members):
        p.error(f"--weights has {len(args.weights)} values for {len(args.members)} members")
    missing = [str(m) for m in args.members if not m.is_file()]
    if missing:
        print(f"moodlens-ensemble: error: no such model: {', '.join(missing)}", file=sys.stderr)
        return 1
    from moodlens_training import require_train_extra

    try:
        require_train_extra("moodlens-ensemble", ("onnx",))
        from ._ensemble import merge
        from ._keras_to_onnx import ExportError

        meta = {"moodlens.version": args.model_version, "moodlens.name": args.name}
        out = merge(args.members, args.out, weights=args.weights, metadata=meta)
        report = {"members": [str(m) for m in args.members], "weights": args.weights}
        if args.data:
            from moodlens_training import (
                VALIDATION,
                evaluate_model,
                load_faces,
                with_validation,
            )

            from ._keras_to_onnx import set_metadata

            faces = with_validation(load_faces(args.data))
            for split in (VALIDATION, "PublicTest"):
                if split in faces:
                    result = evaluate_model(out, faces[split])
                    report[split] = {k: result[k] for k in ("accuracy", "macro_f1", "ece")}
                    print(f"{split}: accuracy {result['accuracy']:.4f}, ECE {result['ece']:.4f}")
            if "PublicTest" in report:
                meta["moodlens.publictest_accuracy"] = f"{report['PublicTest']['accuracy']:.4f}"
                import onnx

                props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
                set_metadata(out, {**props, **meta})
        out.with_suffix(".export.json").write_text(json.dumps(report, indent=2))
    except (ExportError, MoodlensError, OSError) as exc:
        print(f"moodlens-ensemble: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
