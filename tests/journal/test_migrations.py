"""Schema versions: a journal made at the first revision upgrades in place with every row."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from moodlens import Emotion
from moodlens_journal import SCHEMA_REVISION, Journal, JournalCorruptError, JournalVersionError
from moodlens_journal._db import alembic_config, head_revision
from moodlens_journal._models import Base

UTC = timezone.utc
WHEN = datetime(2024, 3, 1, 8, 30, tzinfo=UTC)


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url)


def _at_revision(url: str, revision: str) -> None:
    engine = _engine(url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)
    engine.dispose()


def _fill_revision_1(url: str) -> None:
    """Rows as moodlens wrote them at schema 0001 (no device columns yet)."""
    engine = _engine(url)
    with engine.begin() as conn:
        # No explicit ids: PostgreSQL's sequences must stay in step, as in real use.
        sid = conn.execute(
            sa.text(
                "INSERT INTO capture_sessions (source, started_at, stopped_at, stop_reason,"
                " fps, frames) VALUES ('camera 0', :t, :t, 'end', 30.0, 300) RETURNING id"
            ),
            {"t": WHEN},
        ).scalar_one()
        scores = {f"score_{e.value}": 0.1 for e in Emotion}
        scores["score_happy"] = 0.4
        cols = ", ".join(scores)
        vals = ", ".join(f":{c}" for c in scores)
        conn.execute(
            sa.text(
                "INSERT INTO mood_intervals (session_id, face_id, started_at, ended_at,"
                f' "offset", seconds, frames, dominant, {cols}) VALUES'
                f" (:sid, NULL, :t, :t, 0.0, 10.0, 300, 'happy', {vals})"
            ),
            {"t": WHEN, "sid": sid, **scores},
        )
        conn.execute(
            sa.text(
                "INSERT INTO mood_changes (session_id, face_id, previous, current, at,"
                " occurred_at, confidence) VALUES (:sid, NULL, 'neutral', 'happy', 4.0, :t, 0.6)"
            ),
            {"t": WHEN, "sid": sid},
        )
        eid = conn.execute(
            sa.text(
                "INSERT INTO entries (created_at, mood, note) VALUES (:t, 5, 'old') RETURNING id"
            ),
            {"t": WHEN},
        ).scalar_one()
        tid = conn.execute(
            sa.text("INSERT INTO tags (name) VALUES ('outdoors') RETURNING id")
        ).scalar_one()
        conn.execute(
            sa.text("INSERT INTO entry_tags (entry_id, tag_id) VALUES (:e, :g)"),
            {"e": eid, "g": tid},
        )
    engine.dispose()


def test_models_and_migrations_agree(db_url):
    with Journal(db_url):
        pass
    engine = _engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    engine.dispose()
    assert diff == []
    assert head_revision() == SCHEMA_REVISION


def test_a_first_version_journal_upgrades_keeping_every_row(db_url):
    _at_revision(db_url, "0001")
    _fill_revision_1(db_url)
    with Journal(db_url) as journal:
        assert journal.revision == SCHEMA_REVISION
        (entry,) = journal.entries()
        assert (entry.mood, entry.note, entry.tags, entry.device) == (5, "old", ("outdoors",), None)
        assert entry.created_at == WHEN
        (session,) = journal.sessions()
        assert (session.source, session.frames, session.device) == ("camera 0", 300, None)
        (interval,) = journal.intervals()
        assert interval.dominant is Emotion.HAPPY and interval.scores[Emotion.HAPPY] == 0.4
        assert journal.counts()["changes"] == 1
        # The upgraded journal takes new rows in the new columns.
        new = journal.add_entry(3, "new")
        assert new.device == journal.device
    if db_url.startswith("sqlite"):
        path = Path(db_url.removeprefix("sqlite:///"))
        (backup,) = path.parent.glob(f"{path.name}.schema-0001.*.bak")
        engine = _engine(f"sqlite:///{backup}")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT note FROM entries")).scalars().all() == ["old"]
            assert MigrationContext.configure(conn).get_current_revision() == "0001"
        engine.dispose()


def test_downgrade_and_upgrade_again_keep_entries(db_url):
    with Journal(db_url) as journal:
        journal.add_entry(2, "kept", tags=["t"])
    engine = _engine(db_url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0001")
    engine.dispose()
    with Journal(db_url) as journal:
        assert [(e.note, e.tags) for e in journal.entries()] == [("kept", ("t",))]


def test_a_journal_from_a_newer_moodlens_is_refused_untouched(db_url):
    with Journal(db_url) as journal:
        journal.add_entry(4, "mine")
    engine = _engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(JournalVersionError, match="newer than this moodlens.*pip install -U"):
        Journal(db_url)
    engine = _engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT note FROM entries")).scalars().all() == ["mine"]
    engine.dispose()


def test_a_database_of_something_else_is_not_taken_over(db_url):
    engine = _engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(JournalCorruptError, match="other tables \\(invoices\\)"):
        Journal(db_url)
