"""CSV export: entries, mood intervals or mood changes as a table, written whole or not at all."""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Literal, TextIO

from moodlens import MoodChange

from ._errors import InvalidEntryError, JournalError
from ._models import EMOTIONS
from ._values import Entry, MoodInterval

__all__ = [
    "EXPORT_KINDS",
    "ExportKind",
    "changes_table",
    "entries_table",
    "moods_table",
    "write_csv",
]

ExportKind = Literal["entries", "moods", "changes"]
EXPORT_KINDS: tuple[str, ...] = ("entries", "moods", "changes")

Table = tuple[list[str], list[list[Any]]]


def check_kind(what: str) -> str:
    """Raises InvalidEntryError for a kind of export that does not exist.

    Raises:
        InvalidEntryError: not one of entries, moods, changes.
    """
    if what not in EXPORT_KINDS:
        raise InvalidEntryError(f"cannot export {what!r}; choose entries, moods or changes")
    return what


def _iso(dt: datetime, tz: tzinfo | None) -> str:
    return dt.astimezone(tz).isoformat(timespec="seconds")


def entries_table(entries: Sequence[Entry], tz: tzinfo | None) -> Table:
    """Entries: id, local time, mood, label, note, tags (;-separated), device."""
    header = ["id", "time", "mood", "label", "note", "tags", "device"]
    rows: list[list[Any]] = [
        [
            e.id,
            _iso(e.created_at, tz),
            e.mood,
            e.label,
            e.note or "",
            ";".join(e.tags),
            e.device or "",
        ]
        for e in entries
    ]
    return header, rows


def moods_table(intervals: Sequence[MoodInterval], tz: tzinfo | None) -> Table:
    """Mood intervals: session, face ("scene" or its id), times, seconds, frames, scores."""
    header = ["session", "face", "start", "end", "seconds", "frames", "dominant"]
    header += [e.value for e in EMOTIONS]
    rows = [
        [
            i.session_id,
            "scene" if i.face_id is None else i.face_id,
            _iso(i.started_at, tz),
            _iso(i.ended_at, tz),
            round(i.seconds, 3),
            i.frames,
            i.dominant.value,
        ]
        + [round(i.scores[e], 6) for e in EMOTIONS]
        for i in intervals
    ]
    return header, rows


def changes_table(changes: Sequence[tuple[int, MoodChange]], tz: tzinfo | None) -> Table:
    """Mood changes: session, face, local time, previous and current mood, confidence."""
    header = ["session", "face", "time", "previous", "current", "confidence"]
    rows = [
        [
            session_id,
            "scene" if c.face_id is None else c.face_id,
            _iso(c.wall_time, tz),
            c.previous.value if c.previous else "",
            c.current.value if c.current else "",
            round(c.confidence, 6),
        ]
        for session_id, c in changes
    ]
    return header, rows


def write_csv(target: str | os.PathLike[str] | TextIO, table: Table) -> int:
    """Writes a table to an open text file, or to a path atomically (a temporary file is
    renamed over it). Returns the number of data rows.

    Raises:
        JournalError: the file cannot be written (nothing half-written is left).
    """
    header, rows = table
    if not isinstance(target, (str, os.PathLike)):
        _write(target, header, rows)
        return len(rows)
    path = Path(target).expanduser()
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            _write(f, header, rows)
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise JournalError(f"cannot write {path} ({e.strerror or e}); choose another file") from e
    return len(rows)


def _write(f: TextIO, header: list[str], rows: list[list[Any]]) -> None:
    writer = csv.writer(f)
    writer.writerow(header)
    writer.writerows(rows)
