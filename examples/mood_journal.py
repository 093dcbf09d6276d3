"""The mood-journal app: watch a camera or a video, keep a journal, show today's mood.

    pip install "moodlens[journal]"
    python examples/mood_journal.py --video clip.mp4        # or --camera 0 (Ctrl-C to stop)
    moodlens journal add --mood 4 --note "long walk" --tag outdoors
    moodlens journal summary --week --chart week.png

The stream's mood goes into the journal (a SQLite file in your data folder, or
--db URL); no image ever leaves the frame loop. At the end the script prints
what this session saw and today's summary, and saves a chart of the day.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from datetime import date
from pathlib import Path

from moodlens import MoodlensError, MoodStream, MoodStreamOptions
from moodlens_journal import Journal, JournalPlugin


def seconds(text: str) -> float:
    """A positive number of seconds (argparse type: anything else is a usage error)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--video", help="a video file")
    source.add_argument("--camera", type=int, help="a camera index (0 is the default camera)")
    p.add_argument(
        "--db",
        help="journal file or database URL (default: $MOODLENS_JOURNAL_URL if set, else "
        "journal.db in your data folder)",
    )
    p.add_argument("--chart", help="where to save today's chart (default mood-DATE.png)")
    p.add_argument("--no-chart", action="store_true", help="do not draw a chart (default: draw)")
    p.add_argument(
        "--interval", type=seconds, default=10.0, help="seconds per journal row (default: 10)"
    )
    p.add_argument(
        "--realtime",
        action="store_true",
        help="play a video at its own pace (default: as fast as it decodes)",
    )
    return p.parse_args(argv)


class Terminated(KeyboardInterrupt):
    """SIGTERM (systemd, `docker stop`): stop like Ctrl-C, so the journal gets everything."""


def _on_sigterm(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the stop short
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # The application decides how it stops; the library installs no signal handler.
    signal.signal(signal.SIGTERM, _on_sigterm)
    terminated = False
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    source = args.video if args.video is not None else args.camera
    try:
        journal = Journal(args.db)
    except MoodlensError as e:
        print(f"mood_journal: {e}", file=sys.stderr)
        return 1
    with journal:
        plugin = JournalPlugin(journal=journal, interval=args.interval)
        options = MoodStreamOptions(realtime=args.realtime)
        try:
            with MoodStream(source, plugins=[plugin], options=options) as stream:
                print(f"watching {stream.source.description}; Ctrl-C to stop")
                for reading in stream:
                    for change in stream.last_changes:
                        if change.face_id is None and change.current is not None:
                            print(f"  {reading.timestamp:7.1f} s  mood: {change.current.value}")
        except KeyboardInterrupt as e:
            terminated = isinstance(e, Terminated)
            print("stopped")
        except MoodlensError as e:
            print(f"mood_journal: {e}", file=sys.stderr)
            return 1
        finally:
            plugin.close()  # writes what is still buffered
        summary = stream.summary
        if summary is not None:
            print(f"this session: {summary.frames} frames, {summary.duration:.1f} s of video")
        print(journal.daily_summary().format())
        if not args.no_chart:
            chart = Path(args.chart or f"mood-{date.today().isoformat()}.png")
            try:
                print(f"chart saved to {journal.save_chart(chart)}")
            except MoodlensError as e:  # matplotlib missing, or an unwritable path
                print(f"mood_journal: no chart: {e}", file=sys.stderr)
        print(f"journal: {journal.location}")
    return 143 if terminated else 0


if __name__ == "__main__":
    sys.exit(main())
