"""``moodlens analyze``: videos and photos to a per-face emotion table (Parquet or CSV).

Registered under the entry-point group ``moodlens.cli`` as ``analyze``.
Exit codes: 0 every source analysed, 1 some source failed (each is named on stderr and
in the summary), 2 usage errors (bad options, no input matched, OUT exists).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from ._errors import MissingDependencyError, MoodlensError, OptionsError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="moodlens analyze",
        description=(
            "Analyse videos and photos: one row per face per sampled frame (source, frame, "
            "timestamp, face_id, box, emotion, confidence, a score per emotion, "
            "steady_emotion), and a per-source summary beside the table."
        ),
    )
    p.add_argument("--version", action="version", version=f"moodlens analyze {__version__}")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders or glob patterns")
    p.add_argument(
        "--out",
        required=True,
        help="OUT.parquet (a dataset folder, one part per source) or OUT.csv; a local path "
        "or a pyarrow filesystem URI",
    )
    rate = p.add_mutually_exclusive_group()
    rate.add_argument("--every", type=int, default=1, metavar="N", help="every N-th frame")
    rate.add_argument("--fps", type=float, metavar="F", help="F frames per second of video")
    p.add_argument("--workers", type=int, metavar="N", help="processes or actors (default: cores)")
    p.add_argument("--engine", choices=("local", "ray"), default="local")
    p.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="Ray cluster address (implies --engine ray; default: a local Ray instance)",
    )
    p.add_argument("--model", help="an emotion model .onnx (default: the bundled model)")
    p.add_argument("--face-finder", help="face finder passed to EmotionDetector")
    again = p.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="skip sources already finished")
    again.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    p.add_argument("--segment-frames", type=int, metavar="N", help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ``moodlens analyze``; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.ray_address and args.engine != "ray":
        args.engine = "ray"  # an address only makes sense for Ray
    try:
        from ._analyze import analyze_iter

        results = analyze_iter(
            args.inputs,
            out=args.out,
            every=args.every,
            fps=args.fps,
            workers=args.workers,
            engine=args.engine,
            ray_address=args.ray_address,
            model=args.model,
            face_finder=args.face_finder,
            resume=args.resume,
            overwrite=args.overwrite,
            segment_frames=args.segment_frames,
        )
        sources = failed = faces = resumed = 0
        for result in results:
            sources += 1
            faces += result.summary.faces
            resumed += result.resumed
            if result.summary.status != "ok":
                failed += 1
                print(f"failed: {result.source}: {result.summary.error}", file=sys.stderr)
    except OptionsError as exc:
        print(f"moodlens analyze: error: {exc}", file=sys.stderr)
        return 2
    except MissingDependencyError as exc:
        print(f"moodlens analyze: {exc}", file=sys.stderr)
        return 1
    except MoodlensError as exc:
        print(f"moodlens analyze: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "moodlens analyze: interrupted; finished sources are kept, run again with "
            "--resume to finish",
            file=sys.stderr,
        )
        return 130
    skipped = f", {resumed} from an earlier run" if resumed else ""
    print(
        f"{sources} source{'s' if sources != 1 else ''} ({failed} failed{skipped}), "
        f"{faces} face rows -> {args.out}",
        file=sys.stderr,
    )
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
