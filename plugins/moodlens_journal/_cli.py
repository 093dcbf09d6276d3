"""``moodlens journal``: add entries, read summaries and charts, export CSV.

Exit codes: 0 success, 1 a journal or input that cannot be used (the message
says what to do), 2 usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime, time

from moodlens import MoodlensError

from ._db import ENV_URL
from ._errors import InvalidEntryError
from ._journal import Journal
from ._values import MOOD_LABELS, check_mood, parse_day

_SCALE = ", ".join(f"{k} {v}" for k, v in MOOD_LABELS.items())


def _mood(text: str) -> int:
    try:
        return check_mood(text)
    except InvalidEntryError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="moodlens journal", description="The mood journal: entries, summaries, export."
    )
    p.add_argument(
        "--db",
        metavar="URL_OR_FILE",
        help=f"the journal (default: ${ENV_URL}, else journal.db in your data folder)",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    a = sub.add_parser("add", help="write an entry: a mood from 1 to 5, a note, tags")
    a.add_argument("--mood", type=_mood, required=True, help=f"1 to 5 ({_SCALE})")
    a.add_argument("--note", help="free text")
    a.add_argument("--tag", action="append", default=[], help="a tag or activity (repeatable)")
    a.add_argument("--date", help="the day (YYYY-MM-DD, yesterday, -N); default today")
    a.add_argument("--time", help="the time of day HH:MM (with --date; default now or noon)")

    s = sub.add_parser("summary", help="a day's or a week's summary, optionally a chart")
    s.add_argument("--date", default="today", help="the day (YYYY-MM-DD, today, yesterday, -N)")
    s.add_argument("--week", action="store_true", help="the week (Monday-Sunday) of --date")
    s.add_argument("--chart", metavar="PNG", help="also save a chart (needs matplotlib)")
    s.add_argument("--json", action="store_true", help="machine-readable output")

    e = sub.add_parser("entries", help="list entries")
    e.add_argument("--from", dest="start", help="first day (default: 7 days ago)", default="-6")
    e.add_argument("--to", dest="end", help="last day (default today)", default="today")
    e.add_argument("--tag", help="only entries with this tag")
    e.add_argument("--json", action="store_true", help="machine-readable output")

    x = sub.add_parser("export", help="export entries, mood intervals or mood changes as CSV")
    x.add_argument("file", help="the CSV file to write ('-' for standard output)")
    x.add_argument("--what", choices=["entries", "moods", "changes"], default="entries")
    x.add_argument("--from", dest="start", help="first day (default: everything)")
    x.add_argument("--to", dest="end", help="last day (default: everything)")

    sub.add_parser("info", help="where the journal is, its schema and what it holds")
    return p


def _add(journal: Journal, args: argparse.Namespace) -> int:
    at = None
    if args.date or args.time:
        day = parse_day(args.date or "today")
        if args.time:
            try:
                clock = time.fromisoformat(args.time)
            except ValueError:
                raise InvalidEntryError(
                    f"unknown time {args.time!r}; use HH:MM, e.g. 18:30"
                ) from None
        else:
            clock = datetime.now().time() if args.date in (None, "today") else time(12)
        at = datetime.combine(day, clock)  # local time
    entry = journal.add_entry(args.mood, args.note, args.tag, at=at)
    tags = f" [{', '.join(entry.tags)}]" if entry.tags else ""
    when = entry.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
    print(f"entry {entry.id}: {when} mood {entry.mood} ({entry.label}){tags}")
    return 0


def _summary(journal: Journal, args: argparse.Namespace) -> int:
    day = parse_day(args.date)
    summary = journal.weekly_summary(day) if args.week else journal.daily_summary(day)
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        print(summary.format())
    if args.chart:
        if args.week:
            path = journal.save_chart(args.chart, week=day)
        else:
            path = journal.save_chart(args.chart, day=day)
        print(f"chart saved to {path}", file=sys.stderr if args.json else sys.stdout)
    return 0


def _entries(journal: Journal, args: argparse.Namespace) -> int:
    start, end = parse_day(args.start), parse_day(args.end)
    if end < start:
        raise InvalidEntryError(f"--to {end} is before --from {start}")
    entries = journal.entries(start, end, tag=args.tag)
    if args.json:
        print(json.dumps([e.to_dict() for e in entries], indent=2))
        return 0
    for e in entries:
        tags = f" [{', '.join(e.tags)}]" if e.tags else ""
        note = f"  {e.note}" if e.note else ""
        when = e.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
        print(f"{e.id:>5}  {when}  {e.mood} {e.label:<5}{tags}{note}")
    if not entries:
        print(f"no entries from {start} to {end}")
    return 0


def _export(journal: Journal, args: argparse.Namespace) -> int:
    start = parse_day(args.start) if args.start else None
    end = parse_day(args.end, allow_future=True) if args.end else None
    if args.file == "-":
        journal.export_csv(sys.stdout, what=args.what, start=start, end=end)
        return 0
    count = journal.export_csv(args.file, what=args.what, start=start, end=end)
    print(f"{count} {args.what} row{'s' if count != 1 else ''} written to {args.file}")
    return 0


def _info(journal: Journal, args: argparse.Namespace) -> int:
    print(f"journal: {journal.location}{' (read-only)' if journal.read_only else ''}")
    print(f"schema:  {journal.revision}")
    for name, count in journal.counts().items():
        print(f"{name + ':':<10} {count}")
    return 0


_COMMANDS = {
    "add": _add,
    "summary": _summary,
    "entries": _entries,
    "export": _export,
    "info": _info,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ``moodlens journal``; returns the exit code.

    Args:
        argv: the arguments after ``journal`` (default: sys.argv[1:]).

    Raises:
        SystemExit: argparse's usage errors (code 2) and --help (code 0).
    """
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        with Journal(args.db) as journal:
            return _COMMANDS[args.command](journal, args)
    except MoodlensError as e:
        print(f"moodlens journal: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("moodlens journal: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
