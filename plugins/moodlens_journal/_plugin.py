"""JournalPlugin: the ``mood-journal`` plugin that writes what a MoodStream sees.

Readings are summed in memory per interval and per tracked face; a writer
thread stores what changed every ``flush_every`` seconds in one transaction,
updating the row of an interval that is still filling. It also writes on
``stream_stopped``, ``close()`` and at interpreter exit. A crash loses at most
the last ``flush_every`` seconds; a database error is logged and retried with
what is buffered kept in memory, and never reaches the stream. While the database
stays down the buffer is capped (``max_buffered`` records): past the cap the
oldest finished intervals, then the oldest mood changes, are dropped, counted in
``dropped`` and logged, so memory stays bounded however long the outage.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moodlens import MoodChange, MoodReading, StreamInfo, StreamSummary, hookimpl
from sqlalchemy import update
from sqlalchemy.engine import URL

from ._errors import InvalidEntryError, JournalError, JournalUnavailableError
from ._journal import Journal
from ._models import EMOTIONS, CaptureSessionRow, MoodChangeRow, MoodIntervalRow

__all__ = ["JournalPlugin"]

logger = logging.getLogger(__name__)

_MAX_BACKOFF = 30.0
_MAX_GAP = 2.0  # seconds one reading may stand for (gaps: coalesced readings, stalls)
# About 34 MB (measured: ~0.7 kB per buffered interval with tracemalloc), or 2.9 days of
# a scene and one face at the default 10 s interval.
MAX_BUFFERED = 50_000


@dataclass(eq=False)
class _Session:
    source: str
    started_at: datetime
    fps: float | None
    stopped_at: datetime | None = None
    stop_reason: str | None = None
    frames: int | None = None
    row_id: int | None = None
    version: int = 1
    written: int = 0
    first_ts: float | None = None
    last_ts: float = 0.0
    bucket: int = 0

    def touch(self) -> None:
        self.version += 1


@dataclass(eq=False)
class _Interval:
    session: _Session
    face_id: int | None
    bucket: int
    offset: float
    started_at: datetime
    ended_at: datetime
    seconds: float = 0.0
    frames: int = 0
    sums: list[float] = field(default_factory=lambda: [0.0] * len(EMOTIONS))
    row_id: int | None = None
    version: int = 0
    written: int = 0


@dataclass(frozen=True)
class _Snapshot:
    sessions: list[tuple[_Session, dict[str, Any], int]]
    intervals: list[tuple[_Interval, dict[str, Any], int]]
    changes: list[tuple[_Session, MoodChange]]

    def __bool__(self) -> bool:
        return bool(self.sessions or self.intervals or self.changes)


class JournalPlugin:
    """Writes a MoodStream's readings (per interval and face), mood changes and sessions.

    Enable it by name (``MoodStream(src, plugins=["mood-journal"])``, ``moodlens watch
    --plugin mood-journal``) with settings from ``[plugins.mood-journal]`` in the
    config file, or pass an instance. One instance serves one stream at a time.

    Args:
        url: the journal (as for Journal): a SQLAlchemy URL, a file path, or None for
            ``$MOODLENS_JOURNAL_URL`` or the default file.
        interval: seconds (source clock) of readings summed into one row.
        flush_every: seconds between writes; a crash loses at most this much.
        faces: also store a row per tracked face, not only the scene's.
        journal: an open Journal to write to instead of ``url`` (left open on close).
        max_buffered: the most intervals and mood changes kept in memory while the
            database cannot be written; past it the oldest are dropped (see ``dropped``).

    Raises:
        InvalidEntryError: a setting out of range.
        JournalCorruptError, JournalReadOnlyError, JournalVersionError: the journal
            cannot be written at all. An unreachable server is not an error here: the
            plugin keeps the readings and retries.

    Example:
        >>> from moodlens import MoodStream
        >>> from moodlens_journal import JournalPlugin
        >>> with MoodStream("clip.mp4", plugins=[JournalPlugin("moods.db")]) as stream:
        ...     for reading in stream:
        ...         pass
    """

    name = "mood-journal"

    def __init__(
        self,
        url: str | os.PathLike[str] | URL | None = None,
        *,
        interval: float = 10.0,
        flush_every: float = 2.0,
        faces: bool = True,
        journal: Journal | None = None,
        max_buffered: int = MAX_BUFFERED,
    ) -> None:
        if isinstance(max_buffered, bool) or not isinstance(max_buffered, int) or max_buffered < 1:
            raise InvalidEntryError(
                f"mood-journal: max_buffered must be a whole number of records, 1 or more; "
                f"got {max_buffered!r}"
            )
        for key, value in (("interval", interval), ("flush_every", flush_every)):
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise InvalidEntryError(
                    f"mood-journal: {key} must be a positive number of seconds, got {value!r}"
                )
        if journal is not None and url is not None:
            raise InvalidEntryError("mood-journal: give a url or a journal, not both")
        self.interval, self.flush_every, self.faces = float(interval), float(flush_every), faces
        self.max_buffered = max_buffered
        self._url = url
        self._owns_journal = journal is None
        self._journal = journal
        if self._journal is None:
            try:
                self._journal = Journal(url)
            except JournalUnavailableError as e:  # a server that may come back: retry later
                logger.error("mood-journal: %s; readings are kept and writing is retried", e)
        if self._journal is not None:
            self._journal.check_writable("the mood-journal plugin")
        self._lock = threading.Lock()  # guards the buffers below (hooks vs writer)
        self._flush_lock = threading.Lock()  # one writer at a time
        self._sessions: list[_Session] = []
        self._intervals: dict[tuple[int, int | None, int], _Interval] = {}
        self._changes: list[tuple[_Session, MoodChange]] = []
        self._current: _Session | None = None
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self.flushes = self.failures = 0
        self.dropped = 0  # records dropped unwritten because the buffer was full
        self.last_error: JournalError | None = None
        self._atexit = _exit_hook(self)
        atexit.register(self._atexit)

    # -- public ------------------------------------------------------------------------------
    @property
    def journal(self) -> Journal:
        """The journal written to.

        Raises:
            JournalError: it could not be opened (yet).
        """
        return self._open()

    @property
    def buffered(self) -> int:
        """Intervals and mood changes held in memory (what ``max_buffered`` caps)."""
        with self._lock:
            return len(self._intervals) + len(self._changes)

    @property
    def pending(self) -> int:
        """Sessions, intervals and changes changed in memory but not yet written."""
        with self._lock:
            return (
                sum(s.written != s.version for s in self._sessions)
                + sum(i.written != i.version for i in self._intervals.values())
                + len(self._changes)
            )

    def flush(self) -> None:
        """Writes what is buffered now, in one transaction.

        Raises:
            JournalError: the database could not be written; everything stays buffered.
        """
        with self._flush_lock:
            self._write(self._snapshot())

    def close(self) -> None:
        """Writes what is buffered and stops the writer thread. Safe to call twice.

        What cannot be written is logged as an error, with how much and why.
        """
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self._atexit)
        self._closing.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=60)
        if self.dropped:
            logger.error(
                "mood-journal: %d record(s) were dropped while the journal could not be "
                "written (the buffer holds at most %d)",
                self.dropped,
                self.max_buffered,
            )
        if not self._flush_quietly("closing"):
            logger.error(
                "mood-journal: %d unwritten record(s) are lost on close because the journal "
                "could not be written: %s",
                self.pending,
                self.last_error,
            )
        if self._owns_journal and self._journal is not None:
            self._journal.close()

    def __enter__(self) -> JournalPlugin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- hooks ---------------------------------------------------------------------------------
    @hookimpl
    def moodlens_stream_started(self, info: StreamInfo) -> None:
        with self._lock:
            self._current = self._new_session(info.source, info.started_at, info.fps)
        self._ensure_thread()

    @hookimpl
    def moodlens_reading(self, reading: MoodReading) -> None:
        with self._lock:
            session = self._current or self._implicit(reading.wall_time)
            ts = reading.timestamp
            if session.first_ts is None:
                session.first_ts, session.last_ts = ts, ts
                dt = 1.0 / session.fps if session.fps else 0.0
            else:
                dt = min(max(ts - session.last_ts, 0.0), _MAX_GAP)
                session.last_ts = max(session.last_ts, ts)
            bucket = int(max(0.0, ts - session.first_ts) // self.interval)
            session.bucket = max(session.bucket, bucket)
            if reading.scores is not None:
                self._add(session, None, bucket, reading, reading.scores, dt)
            if self.faces:
                for tracked in reading.faces:
                    self._add(session, tracked.face_id, bucket, reading, tracked.face.scores, dt)
        self._ensure_thread()

    @hookimpl
    def moodlens_mood_changed(self, change: MoodChange) -> None:
        with self._lock:
            session = self._current or self._implicit(change.wall_time)
            self._changes.append((session, change))
        self._ensure_thread()

    @hookimpl
    def moodlens_stream_stopped(self, summary: StreamSummary) -> None:
        with self._lock:
            session, self._current = self._current, None
            if session is not None:
                session.stopped_at = summary.stopped_at
                session.stop_reason = summary.reason
                session.frames = summary.frames
                session.touch()
        if not self._flush_quietly("the stream stopped"):
            logger.error(
                "mood-journal: the stream stopped but %d record(s) could not be written yet "
                "(%s); retrying every few seconds until close()",
                self.pending,
                self.last_error,
            )

    # -- buffering -----------------------------------------------------------------------------
    def _new_session(self, source: str, started_at: datetime, fps: float | None) -> _Session:
        session = _Session(source=str(source)[:500], started_at=started_at, fps=fps)
        self._sessions.append(session)
        return session

    def _implicit(self, wall_time: datetime) -> _Session:
        # Hooks called without stream_started (by hand, or a stream that started earlier).
        self._current = self._new_session("unknown", wall_time, None)
        return self._current

    def _add(
        self,
        session: _Session,
        face_id: int | None,
        bucket: int,
        reading: MoodReading,
        scores: Any,
        dt: float,
    ) -> None:
        key = (id(session), face_id, bucket)
        item = self._intervals.get(key)
        if item is None:
            item = _Interval(
                session=session,
                face_id=face_id,
                bucket=bucket,
                offset=bucket * self.interval,
                started_at=reading.wall_time,
                ended_at=reading.wall_time,
            )
            self._intervals[key] = item
        item.started_at = min(item.started_at, reading.wall_time)
        item.ended_at = max(item.ended_at, reading.wall_time)
        item.frames += 1
        item.seconds += dt
        for i, emotion in enumerate(EMOTIONS):
            item.sums[i] += scores[emotion]
        item.version += 1

    # -- writing ---------------------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is None and not self._closed:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="moodlens-journal-writer", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        delay = self.flush_every
        while not self._closing.is_set():
            self._wake.wait(delay)
            self._wake.clear()
            if self._closing.is_set():
                return
            ok = self._flush_quietly("periodic")
            delay = self.flush_every if ok else min(max(delay * 2, self.flush_every), _MAX_BACKOFF)

    def _flush_quietly(self, why: str) -> bool:
        """Flushes; logs instead of raising. True when nothing is left unwritten."""
        try:
            self.flush()
        except JournalError as e:
            self.failures += 1
            self.last_error = e
            log = logger.error if self.failures == 1 or why != "periodic" else logger.warning
            log("mood-journal: writing failed (%s, failure %d): %s", why, self.failures, e)
            self._drop_over_cap()
            return False
        except Exception as e:  # a bug must not kill the writer or lose the buffer
            self.failures += 1
            self.last_error = JournalError(f"{type(e).__name__}: {e}")
            logger.exception("mood-journal: unexpected error while writing (%s)", why)
            self._drop_over_cap()
            return False
        if self.failures:
            logger.info("mood-journal: writing works again after %d failure(s)", self.failures)
            self.failures = 0
        return True

    def _drop_over_cap(self) -> None:
        """After a failed write: drops the oldest records past ``max_buffered``.

        Finished intervals go first (oldest first), then mood changes; the intervals
        still filling and the sessions are kept. Holding the flush lock, no write is in
        flight, so what is dropped is certainly unwritten (or only partly updated).
        """
        with self._flush_lock, self._lock:
            excess = len(self._intervals) + len(self._changes) - self.max_buffered
            if excess <= 0:
                return
            intervals = changes = 0
            for key, item in list(self._intervals.items()):
                if intervals == excess:
                    break
                if item.session.stopped_at is not None or item.bucket < item.session.bucket:
                    del self._intervals[key]
                    intervals += 1
            changes = min(excess - intervals, len(self._changes))
            del self._changes[:changes]
            self.dropped += intervals + changes
        logger.warning(
            "mood-journal: the journal cannot be written (%s) and the buffer is full: dropped "
            "the %d oldest interval(s) and %d mood change(s) to keep %d records in memory; "
            "%d dropped in all",
            self.last_error,
            intervals,
            changes,
            self.max_buffered,
            self.dropped,
        )

    def _open(self) -> Journal:
        if self._journal is None:
            self._journal = Journal(self._url)
        return self._journal

    def _snapshot(self) -> _Snapshot:
        with self._lock:
            sessions = [
                (s, _session_values(s), s.version) for s in self._sessions if s.written != s.version
            ]
            intervals = [
                (i, _interval_values(i), i.version)
                for i in self._intervals.values()
                if i.written != i.version
            ]
            return _Snapshot(sessions, intervals, list(self._changes))

    def _write(self, snap: _Snapshot) -> None:
        if not snap:
            return
        journal = self._open()
        ids: dict[int, int] = {}  # id(python object) -> row id, applied after the commit
        with journal.session("writing mood readings", write=True) as s:
            for session, values, _ in snap.sessions:
                if session.row_id is None:
                    row = CaptureSessionRow(device=journal.device, **values)
                    s.add(row)
                    s.flush()
                    ids[id(session)] = row.id
                else:
                    s.execute(
                        update(CaptureSessionRow)
                        .where(CaptureSessionRow.id == session.row_id)
                        .values(**values)
                    )

            def session_id(session: _Session) -> int:
                found = session.row_id or ids.get(id(session))
                if found is None:  # unreachable: unwritten sessions are always in a snapshot
                    raise JournalError("mood-journal: an interval refers to an unknown session")
                return found

            for item, values, _ in snap.intervals:
                if item.row_id is None:
                    row_i = MoodIntervalRow(session_id=session_id(item.session), **values)
                    s.add(row_i)
                    s.flush()
                    ids[id(item)] = row_i.id
                else:
                    s.execute(
                        update(MoodIntervalRow)
                        .where(MoodIntervalRow.id == item.row_id)
                        .values(**values)
                    )
            s.add_all(
                MoodChangeRow(
                    session_id=session_id(owner),
                    face_id=c.face_id,
                    previous=c.previous,
                    current=c.current,
                    at=c.at,
                    occurred_at=c.wall_time,
                    confidence=c.confidence,
                )
                for owner, c in snap.changes
            )
        self._written(snap, ids)

    def _written(self, snap: _Snapshot, ids: dict[int, int]) -> None:
        with self._lock:
            for session, _, version in snap.sessions:
                session.row_id = session.row_id or ids.get(id(session))
                session.written = version
            for item, _, version in snap.intervals:
                item.row_id = item.row_id or ids.get(id(item))
                item.written = version
            del self._changes[: len(snap.changes)]
            # Forget intervals that are written and will not grow any more.
            for key, item in list(self._intervals.items()):
                done = item.session.stopped_at is not None or item.bucket < item.session.bucket
                if done and item.written == item.version:
                    del self._intervals[key]
            live = {id(i.session) for i in self._intervals.values()}
            live |= {id(owner) for owner, _ in self._changes}
            self._sessions = [
                s
                for s in self._sessions
                if s is self._current
                or s.written != s.version
                or id(s) in live
                or s.stopped_at is None
            ]
            self.flushes += 1


def _session_values(s: _Session) -> dict[str, Any]:
    return {
        "source": s.source,
        "started_at": s.started_at,
        "stopped_at": s.stopped_at,
        "stop_reason": s.stop_reason,
        "fps": s.fps,
        "frames": s.frames,
    }


def _interval_values(i: _Interval) -> dict[str, Any]:
    means = [v / i.frames for v in i.sums]
    values: dict[str, Any] = {
        "face_id": i.face_id,
        "started_at": i.started_at,
        "ended_at": i.ended_at,
        "offset": i.offset,
        "seconds": i.seconds,
        "frames": i.frames,
        "dominant": EMOTIONS[max(range(len(EMOTIONS)), key=means.__getitem__)],
    }
    values.update({f"score_{e.value}": m for e, m in zip(EMOTIONS, means, strict=True)})
    return values


def _exit_hook(plugin: JournalPlugin) -> Any:
    ref = weakref.ref(plugin)

    def flush_at_exit() -> None:
        alive = ref()
        if alive is not None:
            alive.close()

    return flush_at_exit
