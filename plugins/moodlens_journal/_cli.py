"""``moodlens journal``: add entries, read summaries and charts, export CSV.

Exit codes, the rule of every moodlens command: 0 success; 1 a failure while
running (a journal that does not exist or cannot be used, a file that cannot be
written: the message says what to do); 2 a usage error (an unknown option, or an
argument value of the wrong form or out of range, such as a mood of 7, a bad date
or a chart suffix matplotlib cannot write; argparse prints the usage line).

Only ``add`` writes, so only ``add`` creates a journal; the reading commands say
when there is none.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from pathlib import Path

from moodlens import MoodlensError, __version__, load_plugin_config
from sqlalchemy.engine import URL

from ._db import ENV_URL, default_journal_path, resolve_url
from ._deps import require_matplotlib
from ._errors import InvalidEntryError, JournalError
from ._journal import Journal
from ._values import MOOD_LABELS, check_mood, check_note, check_tags, parse_day

__all__ = ["main"]

_SCALE = ", ".join(f"{k} {v}" for k, v in MOOD_LABELS.items())
_WRITING = frozenset({"add"})
PLUGIN_NAME = "mood-journal"


def _usage_type(check: Callable[[str], object]) -> Callable[[str], object]:
    """An argparse ``type=`` from a check that raises InvalidEntryError: a usage error."""

    def convert(text: str) -> object:
        try:
            return check(text)
        except InvalidEntryError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    convert.__name__ = getattr(check, "__name__", "value").lstrip("_")
    return convert


def _location(text: str) -> URL:
    try:
        return resolve_url(text)
    except JournalError as e:
        raise InvalidEntryError(str(e)) from None


def _clock(text: str) -> time:
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        raise InvalidEntryError(f"unknown time {text!r}; use HH:MM, e.g. 18:30") from None


def _chart(text: str) -> Path:
    from ._chart import check_chart_path

    try:
        return check_chart_path(text)
    except MoodlensError as e:
        if isinstance(e, InvalidEntryError):
            raise
        return Path(text).expanduser()  # no matplotlib: said when the chart is drawn (exit 1)


def _one_tag(text: str) -> str:
    return check_tags([text])[0]


_mood = _usage_type(check_mood)
_note = _usage_type(check_note)
_tag = _usage_type(_one_tag)
_past_day = _usage_type(parse_day)
_any_day = _usage_type(lambda text: parse_day(text, allow_future=True))
_time = _usage_type(_clock)
_db = _usage_type(_location)
_chart_file = _usage_type(_chart)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``moodlens journal`` (every option's help gives its default)."""
    p = argparse.ArgumentParser(
        prog="moodlens journal",
        description="The mood journal: entries, summaries, charts, CSV export.",
        epilog="Only `add` creates a journal; the other commands read one.",
    )
    p.add_argument("--version", action="version", version=f"moodlens journal {__version__}")
    p.add_argument(
        "--db",
        metavar="URL_OR_FILE",
        type=_db,
        help=f"the journal: a file or a database URL (default: ${ENV_URL} if set, else the "
        f"url in [plugins.{PLUGIN_NAME}] of the config file, the journal the plugin writes, "
        f"else {default_journal_path()})",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help="the moodlens config file, read for the journal's url when --db is not given "
        "(default: $MOODLENS_CONFIG if set, else config.toml in the moodlens config folder)",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    a = sub.add_parser("add", help="write an entry: a mood from 1 to 5, a note, tags")
    a.add_argument("--mood", type=_mood, required=True, help=f"1 to 5 ({_SCALE}); required")
    a.add_argument("--note", type=_note, help="free text (default: none)")
    a.add_argument(
        "--tag",
        type=_tag,
        action="append",
        default=[],
        help="a tag or activity, repeatable (default: none)",
    )
    a.add_argument(
        "--date", type=_past_day, help="the day: YYYY-MM-DD, today, yesterday, -N (default: today)"
    )
    a.add_argument(
        "--time",
        type=_time,
        help="the time of day, HH:MM (default: now today, noon on another --date)",
    )

    s = sub.add_parser("summary", help="a day's or a week's summary, optionally a chart")
    s.add_argument(
        "--date",
        type=_past_day,
        default="today",
        help="the day: YYYY-MM-DD, today, yesterday, -N (default: today)",
    )
    s.add_argument(
        "--week", action="store_true", help="the week (Monday-Sunday) of --date (default: the day)"
    )
    s.add_argument(
        "--chart",
        metavar="FILE",
        type=_chart_file,
        help="also save a chart; the suffix gives the format: .png, .pdf, .svg... "
        "(needs matplotlib; default: no chart)",
    )
    s.add_argument("--json", action="store_true", help="print JSON (default: text)")

    e = sub.add_parser("entries", help="list entries")
    e.add_argument(
        "--from", dest="start", type=_past_day, default="-6", help="first day (default: -6)"
    )
    e.add_argument(
        "--to", dest="end", type=_past_day, default="today", help="last day (default: today)"
    )
    e.add_argument("--tag", type=_tag, help="only entries with this tag (default: all)")
    e.add_argument("--json", action="store_true", help="print JSON (default: text)")

    x = sub.add_parser("export", help="export entries, mood intervals or mood changes as CSV")
    x.add_argument("file", help="the CSV file to write ('-' for standard output)")
    x.add_argument(
        "--what",
        choices=["entries", "moods", "changes"],
        default="entries",
        help="what to export (default: entries)",
    )
    x.add_argument("--from", dest="start", type=_any_day, help="first day (default: the first)")
    x.add_argument("--to", dest="end", type=_any_day, help="last day (default: the last)")

    sub.add_parser("info", help="where the journal is, its schema and what it holds")
    return p


def _add(journal: Journal, args: argparse.Namespace) -> int:
    at = None
    if args.date is not None or args.time is not None:
        day = args.date or date.today()
        if args.time is not None:
            clock = args.time
        else:
            clock = datetime.now().time() if day == date.today() else time(12)
        at = datetime.combine(day, clock)  # local time
    entry = journal.add_entry(args.mood, args.note, args.tag, at=at)
    tags = f" [{', '.join(entry.tags)}]" if entry.tags else ""
    when = entry.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
    print(f"entry {entry.id}: {when} mood {entry.mood} ({entry.label}){tags}")
    return 0


def _summary(journal: Journal, args: argparse.Namespace) -> int:
    day = args.date
    if args.chart is not None:
        require_matplotlib()  # before printing anything
    summary = journal.weekly_summary(day) if args.week else journal.daily_summary(day)
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        print(summary.format())
    if args.chart is not None:
        if args.week:
            path = journal.save_chart(args.chart, week=day)
        else:
            path = journal.save_chart(args.chart, day=day)
        print(f"chart saved to {path}", file=sys.stderr if args.json else sys.stdout)
    return 0


def _entries(journal: Journal, args: argparse.Namespace) -> int:
    start, end = args.start, args.end
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
    if args.file == "-":
        journal.export_csv(sys.stdout, what=args.what, start=args.start, end=args.end)
        return 0
    count = journal.export_csv(args.file, what=args.what, start=args.start, end=args.end)
    print(f"{count} {args.what} row{'s' if count != 1 else ''} written to {args.file}")
    return 0


def _info(journal: Journal, args: argparse.Namespace) -> int:
    from ._queries import count_scene_mood_changes

    counts = journal.counts()
    with journal.session("counting mood changes") as s:
        changes = count_scene_mood_changes(s)
    print(f"journal:      {journal.location}{' (read-only)' if journal.read_only else ''}")
    print(f"schema:       {journal.revision}")
    print(f"sessions:     {counts['sessions']}")
    print(f"intervals:    {counts['intervals']}")
    # The same number, under the same name, as in the summaries.
    print(f"mood changes: {changes:<6} the scene's, from one mood to another (as in summaries)")
    print(
        f"mood events:  {counts['changes']:<6} every change stored: each face's, a mood "
        "settling, a face leaving"
    )
    print(f"entries:      {counts['entries']}")
    print(f"tags:         {counts['tags']}")
    return 0


_COMMANDS = {
    "add": _add,
    "summary": _summary,
    "entries": _entries,
    "export": _export,
    "info": _info,
}


def _check_period(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    start, end = getattr(args, "start", None), getattr(args, "end", None)
    if start is not None and end is not None and end < start:
        parser.error(f"argument --to: {end} is before --from {start}")


def _journal_location(args: argparse.Namespace) -> URL | None:
    """--db, else $MOODLENS_JOURNAL_URL, else the plugin's configured url, else None (the
    default file): the CLI reads the journal the mood-journal plugin writes.

    Raises:
        PluginError: the config file cannot be read.
        JournalError: its url is not a database URL or a file path.
    """
    if args.db is not None:
        return args.db
    if os.environ.get(ENV_URL) and args.config is None:
        return None
    config = load_plugin_config(args.config)
    url = config.settings(PLUGIN_NAME).get("url")
    if url is None:
        return None
    try:
        return resolve_url(str(url))
    except JournalError as e:
        raise JournalError(f"in {config.path}, [plugins.{PLUGIN_NAME}] url: {e}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """``moodlens journal``: the mood journal's entries, summaries, charts and CSV; returns
    the exit code.

    Args:
        argv: the arguments after ``journal`` (default: sys.argv[1:]).

    Returns:
        0 on success, 1 when the journal or a file cannot be used (the message says what
        to do), 130 on Ctrl-C.

    Raises:
        SystemExit: argparse's usage errors (code 2), --help and --version (code 0).
    """
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    _check_period(parser, args)
    try:
        location = _journal_location(args)
        with Journal(location, create=args.command in _WRITING) as journal:
            return _COMMANDS[args.command](journal, args)
    except MoodlensError as e:
        print(f"moodlens journal: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("moodlens journal: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
