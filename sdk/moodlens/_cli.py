"""The ``moodlens`` command line.

Exit codes, the same rule for every moodlens command: 0 success; 1 a failure
while running (an image, model, file or source that cannot be used: the
message says what to do); 2 a usage error (an unknown option, or an argument
value of the wrong form or out of range; argparse prints the usage line).

``detect`` is built in. Every other sub-command comes from the entry-point
group ``moodlens.cli``: the entry point's name is the sub-command, its value a
callable ``main(argv) -> int`` that gets the rest of the command line. The
core's own ``watch`` and ``plugins``, the first-party plugins' ``journal`` and
``spotify``, and any third party's commands are registered the same way::

    [project.entry-points."moodlens.cli"]
    hello = "moodlens_hello._cli:main [hello]"   # [extra]: what a missing import needs

``moodlens --help`` lists them without importing them: each command's help is
the first line of its callable's docstring (or of its module's), read from the
source file.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import re
import sys
from collections.abc import Sequence
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from . import __version__
from ._errors import MissingDependencyError, MoodlensError, PluginError

__all__ = ["main"]

CLI_GROUP = "moodlens.cli"
_BUILT_IN = ("detect",)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def discover_commands() -> dict[str, EntryPoint]:
    """The sub-commands registered under ``moodlens.cli``, by name (first one wins).

    Built-in names (``detect``) cannot be taken over.
    """
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=CLI_GROUP):
        if ep.name not in _BUILT_IN:
            found.setdefault(ep.name, ep)
    return dict(sorted(found.items()))


def _first_line(doc: str | None) -> str:
    line = " ".join((doc or "").strip().split("\n\n", 1)[0].split())  # the first paragraph
    line = re.sub(r"^``[^`]*``\s*:\s*", "", line)  # "``moodlens x``: does y" -> "does y"
    line = line.replace("``", "")
    return re.sub(r"(?i)[;:,]?\s*(runs .*; )?returns the exit code\.?$", "", line).strip()


def _summary(ep: EntryPoint) -> str:
    """Help for a command from its source, without importing it (no heavy imports in --help)."""
    dist = getattr(ep, "dist", None)
    fallback = f"from {dist.name}" if dist is not None else ep.value
    top, _, rest = ep.module.partition(".")
    try:
        spec = importlib.util.find_spec(top)  # a top-level name: found, not imported
        if spec is None:
            return fallback
        if rest:
            folders = list(spec.submodule_search_locations or [])
            candidates = [Path(f, *rest.split(".")) for f in folders]
            files = [c.with_suffix(".py") for c in candidates]
            files += [c / "__init__.py" for c in candidates]
        else:
            files = [Path(spec.origin)] if spec.origin else []
        source = next((f for f in files if f.is_file()), None)
        if source is None:
            return fallback
        tree = ast.parse(source.read_text(encoding="utf-8"))
    except (ImportError, OSError, SyntaxError, ValueError):
        return fallback
    name = ep.attr.split(".")[0]
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            line = _first_line(ast.get_docstring(node))
            if line:
                return line
    return _first_line(ast.get_docstring(tree)) or fallback


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default once: not for flags, nor where the help says it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default is None or action.default is False or "(default" in text:
            return action.help
        return super()._get_help_string(action)


def _parser(commands: dict[str, EntryPoint]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="moodlens",
        description="Faces and their emotions, on device.",
        epilog="`moodlens COMMAND --help` for a command's options.",
    )
    p.add_argument("--version", action="version", version=f"moodlens {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    d = sub.add_parser(
        "detect",
        help="detect faces and emotions in images",
        description="Detect faces and their emotions in image files.",
        formatter_class=_HelpFormatter,
    )
    d.add_argument("--version", action="version", version=f"moodlens detect {__version__}")
    d.add_argument("images", nargs="+", help="image files (jpg, png, ...)")
    d.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list, one object per image: image, faces, error",
    )
    d.add_argument("--model", help="an ONNX model file (default: the bundled model)")
    d.add_argument(
        "--threads",
        type=_positive_int,
        help="ONNX Runtime intra-op threads (default: ONNX Runtime's choice)",
    )
    d.add_argument(
        "--face-finder",
        choices=("blazeface", "blazeface-short", "blazeface-full", "haar"),
        default="blazeface",
        help="face finder: BlazeFace on ONNX Runtime, or OpenCV's Haar cascade",
    )
    d.add_argument(
        "--min-face",
        type=_positive_int,
        metavar="PX",
        help="smallest face side in pixels of the image (default: a sixth of its "
        "shorter side, 40-160 px; smaller finds smaller faces, slower)",
    )
    for name, ep in commands.items():
        sub.add_parser(name, help=_summary(ep), add_help=False)
    return p


def _face_lines(path: str, faces: Sequence) -> list[str]:
    lines = [f"{path}: {len(faces)} face{'s' if len(faces) != 1 else ''}"]
    for i, face in enumerate(faces, 1):
        x, y, w, h = face.box
        top3 = sorted(face.scores.items(), key=lambda kv: -kv[1])[:3]
        others = ", ".join(f"{e.value} {s:.0%}" for e, s in top3[1:])
        lines.append(
            f"  face {i}: {face.emotion.value} {face.confidence:.0%} "
            f"at x={x} y={y} w={w} h={h}  (then {others})"
        )
    return lines


def _detect(args: argparse.Namespace) -> int:
    """Every image gets its result or its error; exit 1 when any image failed."""
    from ._detector import EmotionDetector

    results = []
    failed = 0
    try:
        from ._faces import FaceFinderOptions

        detector = EmotionDetector(
            model=args.model,
            threads=args.threads,
            face_finder=args.face_finder,
            face_options=FaceFinderOptions(min_face=args.min_face),
        )
    except MoodlensError as exc:
        if args.json:  # still one object per input, for whoever parses the output
            failures = [{"image": p, "faces": None, "error": str(exc)} for p in args.images]
            print(json.dumps(failures, indent=2))
        raise
    with detector:
        for path in args.images:
            try:
                faces = detector.detect(path)
            except MoodlensError as exc:
                failed += 1
                results.append({"image": path, "faces": None, "error": str(exc)})
                print(f"moodlens: error: {path}: {exc}", file=sys.stderr)
                continue
            results.append({"image": path, "faces": [f.to_dict() for f in faces], "error": None})
            if not args.json:
                print("\n".join(_face_lines(path, faces)), flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
    if failed:
        print(f"moodlens: {failed} of {len(args.images)} images failed", file=sys.stderr)
    return 1 if failed else 0


def _run_command(ep: EntryPoint, rest: list[str]) -> int:
    try:
        command = ep.load()
    except MissingDependencyError:
        raise
    except ImportError as exc:
        dist = getattr(ep, "dist", None)
        missing, feature = exc.name or ep.module, f"`moodlens {ep.name}`"
        if ep.extras and (dist is None or dist.name == "moodlens"):
            raise MissingDependencyError(missing, ep.extras[0], feature) from exc
        if ep.extras and dist is not None:  # a third party's extra: its own pip command
            raise PluginError(
                f"{feature} needs {missing}, which is not installed. "
                f"Install it with: pip install '{dist.name}[{ep.extras[0]}]'"
            ) from exc
        raise PluginError(_load_failure(ep, exc)) from exc
    except Exception as exc:  # a third party's broken entry point: say which, not a traceback
        raise PluginError(_load_failure(ep, exc)) from exc
    code = command(rest)
    return 0 if code is None else int(code)


def _load_failure(ep: EntryPoint, exc: BaseException) -> str:
    dist = getattr(ep, "dist", None)
    where = f"package {dist.name} {dist.version}" if dist is not None else "its package"
    return (
        f"the `moodlens {ep.name}` command ({ep.value}) cannot be loaded: "
        f"{type(exc).__name__}: {exc}. Reinstall or update {where}."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the ``moodlens`` command line; returns the exit code.

    Raises:
        SystemExit: argparse's usage errors (code 2), --help and --version (code 0).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = discover_commands()
    try:
        if argv and argv[0] in commands:
            return _run_command(commands[argv[0]], argv[1:])
        parser = _parser(commands)
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return 2
        return _detect(args)
    except MoodlensError as exc:
        print(f"moodlens: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("moodlens: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `moodlens ... | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
