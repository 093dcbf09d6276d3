"""Journal fixtures: the same tests run on a SQLite file and on a real PostgreSQL server."""

from __future__ import annotations

import itertools
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy", reason="the journal extra is not installed")

from moodlens import Emotion, Face, MoodChange, MoodReading, TrackedFace  # noqa: E402

from ._postgres import PostgresServer, PostgresUnavailable  # noqa: E402

EMOTIONS = list(Emotion)
UTC = timezone.utc
_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the whole session, or a skip that says why there is none."""
    if os.environ.get("MOODLENS_SKIP_POSTGRES"):
        pytest.skip("MOODLENS_SKIP_POSTGRES is set")
    try:
        pytest.importorskip("psycopg", reason="psycopg (moodlens[journal]) is not installed")
        server = PostgresServer.start()
    except PostgresUnavailable as e:
        pytest.skip(f"no PostgreSQL server for the journal tests: {e}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path):
    """A fresh, empty journal location on each database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'journal.db'}"
        return
    server = request.getfixturevalue("postgres")
    name = f"journal_{os.getpid()}_{next(_counter)}"
    yield server.create_database(name)
    server.drop_database(name)


@pytest.fixture
def journal(db_url):
    from moodlens_journal import Journal

    with Journal(db_url) as j:
        yield j


def scores(top: Emotion | str, p: float = 0.7) -> dict[Emotion, float]:
    top = Emotion.parse(top)
    rest = (1.0 - p) / 6
    return {e: (p if e == top else rest) for e in EMOTIONS}


def reading(
    ts: float,
    wall: datetime,
    top: str | None,
    *,
    index: int = 0,
    faces: tuple[tuple[int, str], ...] | None = None,
) -> MoodReading:
    """A reading at ``ts`` whose scene (and, by default, face 1) shows ``top``."""
    if faces is None:
        faces = ((1, top),) if top else ()
    tracked = tuple(
        TrackedFace(fid, Face((10 * fid, 10, 50, 50), scores(em)), scores(em), Emotion.parse(em))
        for fid, em in faces
    )
    return MoodReading(
        timestamp=ts,
        wall_time=wall,
        frame_index=index,
        faces=tracked,
        mood=Emotion.parse(top) if top else None,
        scores=scores(top) if top else None,
    )


def feed(
    plugin,
    start: datetime,
    plan: list[tuple[str | None, float]],
    *,
    fps: float = 10.0,
    ts0: float = 0.0,
) -> int:
    """Feeds readings: each (emotion, seconds) of the plan at ``fps``; returns frames fed."""
    i, ts = 0, ts0
    for emotion, seconds in plan:
        for _ in range(int(round(seconds * fps))):
            plugin.moodlens_reading(
                reading(ts, start + timedelta(seconds=ts - ts0), emotion, index=i)
            )
            i += 1
            ts += 1.0 / fps
    return i


def change(
    at: float, wall: datetime, previous: str | None, current: str | None, face_id: int | None = None
) -> MoodChange:
    return MoodChange(
        face_id=face_id,
        previous=Emotion.parse(previous) if previous else None,
        current=Emotion.parse(current) if current else None,
        at=at,
        wall_time=wall,
        confidence=0.7,
    )
