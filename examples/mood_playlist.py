"""Mood playlist: watch a video (or a camera) and turn the steady mood into a Spotify playlist.

Dry-run by default: no account is needed, and it prints the playlist it would
build (with a login, from real search results; without one, the searches it
would run). ``--apply`` writes the private playlist to your account after
``moodlens spotify login``.

    python examples/mood_playlist.py --make-clip clip.mp4     # a short clip of the sample face
    python examples/mood_playlist.py --video clip.mp4 --dry-run
    python examples/mood_playlist.py --camera 0 --strategy lift --target happy --apply
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from importlib import resources
from pathlib import Path

from moodlens import Emotion, MoodlensError, MoodStream, MoodStreamOptions
from moodlens_spotify import SpotifyPlaylistPlugin


def make_clip(path: Path, seconds: float = 3.0, fps: float = 10.0) -> Path:
    """Writes a short video of the bundled sample face, drifting a little each frame."""
    import cv2
    import numpy as np

    sample = resources.files("moodlens.samples").joinpath("astronaut.jpg")
    image = cv2.imread(str(sample))
    h, w = image.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise SystemExit(f"cannot write {path} (no mp4v encoder in this OpenCV?)")
    for i in range(int(seconds * fps)):
        drift = np.float32([[1, 0, i % 5], [0, 1, 0]])  # a few pixels, like a hand-held camera
        writer.write(cv2.warpAffine(image, drift, (w, h)))
    writer.release()
    return path


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none to show."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _emotion(text: str) -> str:
    try:
        return Emotion.parse(text).value
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _number(kind: type, low: float, high: float):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {value}")
        return value

    return parse


class Terminated(KeyboardInterrupt):
    """SIGTERM (systemd, `docker stop`): stop like Ctrl-C, so the plugin hears the stop."""


def _on_sigterm(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the stop short
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=_HelpFormatter,
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--video", type=Path, help="a video file")
    src.add_argument("--camera", type=int, help="a camera index")
    src.add_argument("--make-clip", type=Path, metavar="PATH", help="write a sample clip and stop")
    p.add_argument("--apply", action="store_true", help="write the playlist (needs a login)")
    p.add_argument("--dry-run", action="store_true", help="print only (the default)")
    p.add_argument(
        "--strategy", choices=["match", "lift"], default="match", help="how a mood becomes music"
    )
    p.add_argument("--target", type=_emotion, default="happy", help="where 'lift' ends")
    p.add_argument("--size", type=_number(int, 1, 100), default=15, help="tracks in the playlist")
    p.add_argument(
        "--interval",
        type=_number(float, 0, 86400),
        default=60.0,
        help="least seconds between two playlist updates",
    )
    p.add_argument(
        "--realtime",
        action="store_true",
        help="play a video at its own pace (default: as fast as it decodes)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log what the plugin does")
    args = p.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.make_clip:
        print(f"wrote {make_clip(args.make_clip)}")
        return 0
    if args.apply and args.dry_run:
        p.error("--apply and --dry-run contradict each other")

    # The application decides how it stops; the library installs no signal handler.
    signal.signal(signal.SIGTERM, _on_sigterm)
    terminated = False
    plugin = None
    try:
        plugin = SpotifyPlaylistPlugin(
            dry_run=not args.apply,
            strategy=args.strategy,
            target=args.target,
            size=args.size,
            interval=args.interval,
        )
        source = str(args.video) if args.video is not None else args.camera
        mood = None
        options = MoodStreamOptions(realtime=args.realtime)
        with MoodStream(source, plugins=[plugin], options=options) as stream:
            print(f"watching {stream.source.description}; Ctrl-C to stop", flush=True)
            for reading in stream:
                if reading.mood != mood and reading.mood is not None:
                    print(f"{reading.timestamp:7.2f}s  scene mood: {reading.mood.value}")
                mood = reading.mood
    except MoodlensError as exc:
        print(f"mood_playlist: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM: the stream stopped cleanly
        terminated = isinstance(exc, Terminated)
        print("stopped")
    finally:
        if plugin is not None:
            plugin.close()
    code = 143 if terminated else 0
    if plugin is None or not plugin.plans:
        print("no steady mood was found, so no playlist was built")
        return code
    for plan in plugin.plans:
        print(("would build " if not args.apply else "built ") + plan.describe())
    return code


if __name__ == "__main__":
    sys.exit(main())
