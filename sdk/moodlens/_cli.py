"""The ``moodlens`` command line.

Exit codes: 0 success, 1 bad input (an image, model or source that cannot be
used), 2 usage errors (argparse's own code).

Sub-commands owned by other rooms are delegated with the rest of the command
line: ``watch`` and ``plugins`` to ``moodlens._cli_stream``, ``journal`` to
``moodlens_journal._cli`` and ``spotify`` to ``moodlens_spotify._cli``; each
exposes ``main(argv) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence

from . import __version__
from ._errors import MissingDependencyError, MoodlensError

# sub-command -> (module, extra that provides it, or None for the core)
_DELEGATED = {
    "watch": ("moodlens._cli_stream", None, "watch a camera, video or images"),
    "plugins": ("moodlens._cli_stream", None, "list installed plugins"),
    "journal": ("moodlens_journal._cli", "journal", "the mood journal"),
    "spotify": ("moodlens_spotify._cli", "spotify", "the Spotify playlist plugin"),
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="moodlens", description="Faces and their emotions, on device.")
    p.add_argument("--version", action="version", version=f"moodlens {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    d = sub.add_parser("detect", help="detect faces and emotions in images")
    d.add_argument("images", nargs="+", help="image files (jpg, png, ...)")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.add_argument("--model", help="an ONNX model file (default: the bundled model)")
    d.add_argument("--threads", type=int, help="ONNX Runtime intra-op threads")
    for name, (_, _, help_text) in _DELEGATED.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return p


def _detect(args: argparse.Namespace) -> int:
    from ._detector import EmotionDetector

    results = []
    with EmotionDetector(model=args.model, threads=args.threads) as detector:
        for path in args.images:
            faces = detector.detect(path)
            results.append({"image": path, "faces": [f.to_dict() for f in faces]})
            if not args.json:
                print(f"{path}: {len(faces)} face{'s' if len(faces) != 1 else ''}")
                for i, face in enumerate(faces, 1):
                    x, y, w, h = face.box
                    top3 = sorted(face.scores.items(), key=lambda kv: -kv[1])[:3]
                    others = ", ".join(f"{e.value} {s:.0%}" for e, s in top3[1:])
                    print(
                        f"  face {i}: {face.emotion.value} {face.confidence:.0%} "
                        f"at x={x} y={y} w={w} h={h}  (then {others})"
                    )
    if args.json:
        print(json.dumps(results if len(results) > 1 else results[0], indent=2))
    return 0


def _delegate(command: str, rest: list[str]) -> int:
    module_name, extra, help_text = _DELEGATED[command]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if extra is None:
            raise
        raise MissingDependencyError(exc.name or module_name, extra, help_text) from exc
    # A module serving several commands exposes COMMAND_main (watch_main, plugins_main).
    return int(getattr(module, f"{command}_main", module.main)(rest))


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the CLI; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    if argv and argv[0] in _DELEGATED:
        command, rest = argv[0], argv[1:]
        runner = lambda: _delegate(command, rest)  # noqa: E731
    else:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        runner = lambda: _detect(args)  # noqa: E731
    try:
        return runner()
    except MoodlensError as exc:
        print(f"moodlens: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("moodlens: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
