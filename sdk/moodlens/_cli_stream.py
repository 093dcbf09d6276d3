"""``moodlens watch`` (a camera, video or images, with plugins) and ``moodlens plugins``.

Exit codes: 0 success, 1 a source, plugin or model that cannot be used, 2 usage
errors (argparse: a missing or malformed argument, a value out of range), 130
interrupted by Ctrl-C, 143 stopped by SIGTERM (both after the plugins heard the stop).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from . import __version__
from ._errors import MoodlensError, PluginError
from ._plugin_config import config_path, load_plugin_config, toml_module
from ._plugin_discovery import installed_plugins

# Redraw the progress bar at most this often (seconds).
_PROGRESS_EVERY = 0.1


def _number(kind: type, text: str) -> float:
    try:
        value = kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _count(text: str) -> int:
    """argparse type: a whole number, 1 or more."""
    value = int(_number(int, text))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _index(text: str) -> int:
    """argparse type: a whole number, 0 or more."""
    value = int(_number(int, text))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _positive(text: str) -> float:
    """argparse type: a number above 0."""
    value = _number(float, text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def _seconds(text: str) -> float:
    """argparse type: seconds, 0 or more."""
    value = _number(float, text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, got {text}")
    return value


def _watch_parser() -> argparse.ArgumentParser:
    from ._stream import MoodStreamOptions  # cv2 and numpy: only for `watch`

    defaults = MoodStreamOptions()
    p = argparse.ArgumentParser(
        prog="moodlens watch",
        description="Follow the mood of a camera, a video or images, and feed plugins.",
        epilog="Exit codes: 0 done, 1 a source, plugin or model that cannot be used, 2 a usage "
        "error, 130 Ctrl-C, 143 SIGTERM (both after the plugins heard the stop).",
    )
    p.add_argument("--version", action="version", version=f"moodlens watch {__version__}")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--video", metavar="FILE", help="a video file")
    src.add_argument(
        "--camera", metavar="INDEX", type=_index, help="a camera index (0: the default camera)"
    )
    src.add_argument("--images", metavar="PATH", nargs="+", help="image files or a folder")
    p.add_argument(
        "--plugin",
        metavar="NAME",
        action="append",
        default=None,
        help="enable an installed plugin (repeat for more); default: 'enabled' in the config",
    )
    p.add_argument("--no-plugins", action="store_true", help="enable no plugin (default: off)")
    p.add_argument(
        "--set",
        metavar="PLUGIN.KEY=VALUE",
        action="append",
        default=[],
        help="a plugin setting (VALUE is read as TOML, else as text); repeatable (default: none)",
    )
    p.add_argument(
        "--config", metavar="FILE", help=f"plugin config file (default: {config_path()})"
    )
    p.add_argument(
        "--show", action="store_true", help="live preview window, GUI OpenCV needed (default: off)"
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )
    p.add_argument(
        "--realtime", action="store_true", help="play a video at its own pace (default: off)"
    )
    p.add_argument(
        "--faces", action="store_true", help="print each face's mood changes too (default: off)"
    )
    p.add_argument(
        "--json", action="store_true", help="mood changes and summary as JSON lines (default: off)"
    )
    p.add_argument(
        "--no-tracking",
        action="store_true",
        help="search whole frames every time instead of near known faces (default: off)",
    )
    p.add_argument(
        "--detect-every",
        type=_count,
        default=defaults.detect_every,
        metavar="N",
        help="with tracking, search the whole frame every N frames (default: %(default)s)",
    )
    p.add_argument(
        "--half-life",
        type=_seconds,
        default=defaults.half_life,
        metavar="SECONDS",
        help="smoothing: a past frame counts half after this long; 0 is off (default: %(default)s)",
    )
    p.add_argument(
        "--hold",
        type=_seconds,
        default=defaults.hold,
        metavar="SECONDS",
        help="a new mood must lead this long before it counts (default: %(default)s)",
    )
    p.add_argument(
        "--fps",
        type=_positive,
        metavar="FPS",
        help="images per second of stream time (default: 1 for --images)",
    )
    p.add_argument("--model", help="an ONNX model file (default: the bundled model)")
    p.add_argument(
        "--threads",
        type=_count,
        metavar="N",
        default=1,
        help="ONNX Runtime intra-op threads per model (default: 1; the stream classifies "
        "each frame on a second thread while it searches the next)",
    )
    p.add_argument(
        "--face-finder",
        choices=("blazeface", "blazeface-short", "blazeface-full", "haar"),
        default="blazeface",
        help="face finder: BlazeFace on ONNX Runtime, or OpenCV's Haar cascade "
        "(default: blazeface)",
    )
    p.add_argument(
        "--min-face",
        type=_count,
        metavar="PX",
        help="smallest face side in pixels of the frame (default: a sixth of its "
        "shorter side, 40-160 px)",
    )
    p.add_argument(
        "-v", "--verbose", action="store_true", help="log progress details (default: off)"
    )
    return p


def _plugins_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="moodlens plugins", description="List the installed moodlens plugins."
    )
    p.add_argument("--version", action="version", version=f"moodlens plugins {__version__}")
    p.add_argument(
        "--hooks",
        action="store_true",
        help="import each plugin to list its hooks, slower (default: off)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output (default: off)")
    p.add_argument("--config", metavar="FILE", help=f"config file (default: {config_path()})")
    return p


def _settings(pairs: Sequence[str]) -> dict[str, dict[str, Any]]:
    settings: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        plugin, dot, name = key.strip().rpartition(".")
        if not sep or not dot or not plugin or not name:
            raise PluginError(f"--set {pair!r} must look like PLUGIN.KEY=VALUE.")
        toml = toml_module()
        try:
            value = toml.loads(f"v = {raw}")["v"]
        except toml.TOMLDecodeError:
            value = raw
        settings.setdefault(plugin, {})[name] = value
    return settings


class _Progress:
    """A one-line progress bar on a terminal stream (no dependency)."""

    def __init__(self, out: TextIO, total: int | None, enabled: bool) -> None:
        self.out, self.total, self.enabled = out, total, enabled
        self.start = time.monotonic()
        self._last = 0.0

    def update(self, frames: int, mood: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < _PROGRESS_EVERY):
            return
        self._last = now
        fps = frames / max(now - self.start, 1e-9)
        if self.total:
            done = min(1.0, frames / self.total)
            bar = "#" * round(done * 30)
            line = f"[{bar:<30}] {done:4.0%} {frames}/{self.total} frames"
        else:
            line = f"{frames} frames"
        self.out.write(f"\r{line}  {fps:5.1f} fps  mood: {mood:<8}")
        self.out.flush()

    def clear(self) -> None:
        """Erases the bar so that a printed line does not run into it."""
        if self.enabled:
            self.out.write("\r\033[K")
            self.out.flush()

    def finish(self) -> None:
        if self.enabled:
            self.out.write("\n")
            self.out.flush()


class _Preview:
    """The --show window: boxes, ids and moods over the frame; q or Esc closes it."""

    WINDOW = "moodlens"

    def __init__(self) -> None:
        import cv2

        self.cv2 = cv2
        try:
            cv2.namedWindow(self.WINDOW, cv2.WINDOW_NORMAL)
        except cv2.error:
            raise MoodlensError(
                "--show needs an OpenCV built with GUI support, and this one has none "
                "(opencv-python-headless). Install the GUI build: "
                "pip uninstall -y opencv-python-headless && pip install 'opencv-python<5'"
            ) from None

    def show(self, image: Any, reading: Any) -> bool:
        cv2 = self.cv2
        canvas = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        for tracked in reading.faces:
            x, y, w, h = tracked.face.box
            label = f"#{tracked.face_id} {tracked.mood.value if tracked.mood else '...'}"
            cv2.rectangle(canvas, (x, y), (x + w, y + h), (0, 200, 0), 2)
            cv2.putText(
                canvas, label, (x, max(12, y - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 200, 0), 2
            )
        scene = reading.mood.value if reading.mood else "-"
        cv2.putText(
            canvas, f"mood: {scene}", (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 255), 2
        )
        cv2.imshow(self.WINDOW, canvas)
        return (cv2.waitKey(1) & 0xFF) not in (ord("q"), 27)

    def close(self) -> None:
        self.cv2.destroyWindow(self.WINDOW)


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="moodlens: %(levelname)s: %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _change_line(change: Any) -> str:
    who = "mood" if change.face_id is None else f"face {change.face_id}"
    was = change.previous.value if change.previous else "none"
    now = change.current.value if change.current else "none"
    conf = f" ({change.confidence:.0%})" if change.current else ""
    return f"{change.at:8.2f}s  {who}: {was} -> {now}{conf}"


class _Terminated(KeyboardInterrupt):
    """SIGTERM arrived: handled exactly like Ctrl-C, but the exit code is 143."""


class _Sigterm:
    """Whether a SIGTERM arrived while ``_sigterm_stops_like_ctrl_c`` was in force."""

    received = False


@contextlib.contextmanager
def _sigterm_stops_like_ctrl_c() -> Iterator[_Sigterm]:
    """While a command runs a stream, SIGTERM (systemd, ``docker stop``) stops it like Ctrl-C.

    The first SIGTERM raises _Terminated on the main thread, which the stream handles as
    Ctrl-C (plugins flush and hear ``stream_stopped``); later ones are ignored so that
    the stop completes. Only the command line installs this: the library installs no
    signal handler. The previous handler is restored on the way out. The yielded object
    says whether a SIGTERM came, for when a library turned the _Terminated into a plain
    KeyboardInterrupt (Ray does, when the signal lands inside ``ray.wait``).
    """
    state = _Sigterm()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def handler(signum: int, frame: Any) -> None:
        if not state.received:
            state.received = True
            raise _Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGTERM, previous)


def watch_main(argv: Sequence[str]) -> int:
    """Follow the mood of a camera, a video or images, and feed plugins.

    Returns the exit code: 0, 130 after Ctrl-C, 143 after SIGTERM (both stop the stream
    cleanly first).

    Raises:
        MoodlensError: a source, plugin or model that cannot be used (the caller prints it).
        SystemExit: a usage error (code 2), ``--help`` or ``--version`` (code 0).
    """
    args = _watch_parser().parse_args(list(argv))
    _configure_logging(args.verbose)
    with _sigterm_stops_like_ctrl_c():
        try:
            return _watch(args)
        except _Terminated:  # before or after the stream ran: nothing left to stop
            print("moodlens watch: terminated", file=sys.stderr)
            return 143


def _watch(args: argparse.Namespace) -> int:
    from ._detector import EmotionDetector
    from ._stream import MoodStream, MoodStreamOptions

    config = args.config if args.config else None
    if args.no_plugins:
        plugins: list[str] = []
    elif args.plugin:
        plugins = args.plugin
    else:
        plugins = list(load_plugin_config(config).enabled)
    options = MoodStreamOptions(
        tracking=not args.no_tracking,
        detect_every=args.detect_every,
        half_life=args.half_life,
        hold=args.hold,
        fps=args.fps,
        realtime=args.realtime,
    )
    source: Any = args.video if args.video is not None else args.camera
    if args.images:
        source = args.images
    preview = _Preview() if args.show else None
    from ._faces import FaceFinderOptions

    detector = EmotionDetector(
        args.model,
        threads=args.threads,
        face_finder=args.face_finder,
        face_options=FaceFinderOptions(min_face=args.min_face),
    )
    out = sys.stdout
    try:
        stream = MoodStream(
            source,
            options=options,
            detector=detector,
            plugins=plugins,
            plugin_settings=_settings(args.set),
            config=config,
        )
        total = stream.source.frame_count
        show_progress = sys.stderr.isatty() if args.progress is None else args.progress
        progress = _Progress(sys.stderr, total, show_progress)

        def print_changes(changes: Sequence[Any]) -> None:
            for change in changes:
                if change.face_id is None or args.faces:
                    progress.clear()
                    if args.json:
                        print(json.dumps({"change": change.to_dict()}), file=out)
                    else:
                        print(_change_line(change), file=out)
                    out.flush()

        stopped_by: KeyboardInterrupt | None = None
        reason = "end"
        with stream:
            if stream.plugins and not args.json:
                print(f"plugins: {', '.join(stream.plugins)}", file=sys.stderr)
            try:
                for reading in stream:  # pipelined: the frame of a reading is last_frame
                    print_changes(stream.last_changes)
                    mood = reading.mood.value if reading.mood else "-"
                    progress.update(stream.stats.frames, mood)
                    frame = stream.last_frame
                    if preview is not None and frame is not None:
                        if not preview.show(frame.image, reading):
                            reason = "closed"
                            break
            except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (_Terminated)
                stopped_by, reason = exc, "interrupted"
            last = stream.last_reading
            mood = last.mood.value if last is not None and last.mood else "-"
            progress.update(stream.stats.frames, mood, force=True)
            progress.finish()
            summary = stream.close(reason=reason)  # the plugins have heard the stop
            print_changes(stream.last_changes)  # the faces still in view at the stop
        _print_summary(stream, summary, time.monotonic() - progress.start, args.json)
        if stopped_by is None:
            return 0
        return 143 if isinstance(stopped_by, _Terminated) else 130
    finally:
        detector.close()
        if preview is not None:
            preview.close()


def _print_summary(stream: Any, summary: Any, elapsed: float, as_json: bool) -> None:
    stats = stream.stats
    if as_json:
        data = {
            "summary": {
                "reason": summary.reason,
                "frames": summary.frames,
                "duration": summary.duration,
                "elapsed": elapsed,
                "full_detections": stats.full_detections,
                "near_detections": stats.near_detections,
                "dropped_frames": stats.dropped_frames,
                "skipped_frames": stats.skipped_frames,
                "plugins": [
                    {
                        "name": p.name,
                        "delivered": p.delivered,
                        "coalesced": p.coalesced,
                        "failures": p.failures,
                        "disabled": p.disabled,
                        "disabled_reason": p.disabled_reason,
                        "finished": p.finished,
                        "dropped_at_stop": p.dropped_at_stop,
                    }
                    for p in stats.plugins
                ],
            }
        }
        print(json.dumps(data))
        return
    fps = summary.frames / elapsed if elapsed > 0 else 0.0
    # A live camera skips the frames that arrive while one is processed, to stay live.
    dropped = f"; {stats.dropped_frames} frames skipped to stay live" if stream.source.live else ""
    if stats.skipped_frames:
        s = "" if stats.skipped_frames == 1 else "s"
        dropped += f"; {stats.skipped_frames} unreadable image{s} skipped"
    print(
        f"{summary.reason}: {summary.frames} frames ({summary.duration:.1f} s of source time) "
        f"in {elapsed:.1f} s, {fps:.1f} fps{dropped}",
        file=sys.stderr,
    )
    for p in stats.plugins:
        state = f"disabled ({p.disabled_reason})" if p.disabled else "ok"
        if not p.finished:
            state += ", still busy at stop"
        at_stop = f", {p.dropped_at_stop} dropped at the stop" if p.dropped_at_stop else ""
        print(
            f"  plugin {p.name}: {state}; {p.delivered} calls, {p.failures} failed, "
            f"{p.coalesced} readings coalesced{at_stop}",
            file=sys.stderr,
        )


def plugins_main(argv: Sequence[str]) -> int:
    """List the installed moodlens plugins; returns the exit code.

    Raises:
        PluginError: the config file cannot be read.
    """
    args = _plugins_parser().parse_args(list(argv))
    enabled = set(load_plugin_config(args.config).enabled)
    infos = installed_plugins(load=args.hooks)
    if args.json:
        rows = [
            {
                "name": i.name,
                "version": i.version,
                "distribution": i.distribution,
                "value": i.value,
                "enabled": i.name in enabled,
                "hooks": list(i.hooks) if i.hooks is not None else None,
                "error": i.error,
            }
            for i in infos
        ]
        print(json.dumps(rows, indent=2))
        return 0
    if not infos:
        print("no moodlens plugins are installed.")
        return 0
    table = [("NAME", "VERSION", "DISTRIBUTION", "ENABLED", "HOOKS")]
    for i in infos:
        if i.error:
            hooks = f"cannot import: {i.error}"
        elif i.hooks is None:
            hooks = "(not imported; --hooks lists them)"
        else:
            hooks = ", ".join(h.removeprefix("moodlens_") for h in i.hooks) or "none"
        table.append(
            (
                i.name,
                i.version or "?",
                i.distribution or "?",
                "yes" if i.name in enabled else "no",
                hooks,
            )
        )
    widths = [max(len(row[c]) for row in table) for c in range(4)]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)), row[4])
    print(f"\nenable with --plugin NAME, or list names under 'enabled' in {config_path()}")
    return 0


def main(argv: Sequence[str]) -> int:
    """``watch ...`` or ``plugins ...``: for callers that pass the command too."""
    argv = list(argv)
    if argv and argv[0] == "plugins":
        return plugins_main(argv[1:])
    if argv and argv[0] == "watch":
        return watch_main(argv[1:])
    print("usage: moodlens {watch,plugins} ...", file=sys.stderr)
    return 2
