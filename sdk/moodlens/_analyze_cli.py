"""``moodlens analyze``: videos and photos to a per-face emotion table (Parquet or CSV).

Registered under the entry-point group ``moodlens.cli`` as ``analyze``.
Exit codes: 0 every source analysed, 1 some source failed (each is named on stderr and
in the summary), 2 usage errors (bad options, no input matched, OUT exists), 130 Ctrl-C,
143 SIGTERM (both keep the finished sources for ``--resume``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from ._cli_stream import _sigterm_stops_like_ctrl_c, _Terminated
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
    """Runs ``moodlens analyze``; returns the exit code.

    Ctrl-C and SIGTERM (systemd, ``docker stop``) stop the same way: the workers (pool
    processes or Ray actors) are stopped at once, the parts of the finished sources stay
    in OUT (each was written whole), no summary is written (it is written once every
    source is done), stderr says to finish with ``--resume``, and the exit code is 130
    (Ctrl-C) or 143 (SIGTERM). Only the command line handles SIGTERM: the library
    installs no signal handler.

    Raises:
        SystemExit: a usage error (code 2), ``--help`` or ``--version`` (code 0).
    """
    args = _parser().parse_args(argv)
    if args.ray_address and args.engine != "ray":
        args.engine = "ray"  # an address only makes sense for Ray
    with _sigterm_stops_like_ctrl_c() as sigterm:
        try:
            return _analyze(args)
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (_Terminated)
            # Ray re-raises a signal's exception inside ray.wait as a plain KeyboardInterrupt.
            terminated = isinstance(exc, _Terminated) or sigterm.received
            print(
                f"moodlens analyze: {'terminated' if terminated else 'interrupted'}; the "
                f"finished sources are kept in {args.out}: run the same command again with "
                "--resume to finish",
                file=sys.stderr,
            )
            return 143 if terminated else 130


def _analyze(args: argparse.Namespace) -> int:
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
        try:
            for result in results:
                sources += 1
                faces += result.summary.faces
                resumed += result.resumed
                if result.summary.status != "ok":
                    failed += 1
                    print(f"failed: {result.source}: {result.summary.error}", file=sys.stderr)
        finally:  # after an interrupt: stop the workers before the message, not at exit
            getattr(results, "close", lambda: None)()
    except OptionsError as exc:
        print(f"moodlens analyze: error: {exc}", file=sys.stderr)
        return 2
    except MissingDependencyError as exc:
        print(f"moodlens analyze: {exc}", file=sys.stderr)
        return 1
    except MoodlensError as exc:
        print(f"moodlens analyze: {exc}", file=sys.stderr)
        return 1
    skipped = f", {resumed} from an earlier run" if resumed else ""
    print(
        f"{sources} source{'s' if sources != 1 else ''} ({failed} failed{skipped}), "
        f"{faces} face rows -> {args.out}",
        file=sys.stderr,
    )
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
