"""Journal on SQLite and PostgreSQL: entries, tags, summaries, streaks, export, charts."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest
from moodlens import Emotion
from moodlens_journal import (
    InvalidEntryError,
    Journal,
    JournalPlugin,
    JournalSummary,
)

from .conftest import change, feed

UTC = timezone.utc
DAY = date(2024, 5, 6)  # a Monday
NOON = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)


def test_entry_round_trip(journal: Journal):
    entry = journal.add_entry(
        4, "  long walk  ", tags=["Outdoors", "friends", "outdoors "], at=NOON
    )
    assert (entry.mood, entry.label, entry.note) == (4, "good", "long walk")
    assert entry.tags == ("friends", "outdoors")
    assert entry.created_at == NOON and entry.created_at.tzinfo is not None
    (stored,) = journal.entries(DAY, DAY, tz=UTC)
    assert stored == entry
    assert journal.tags() == [("friends", 1), ("outdoors", 1)]


def test_tags_are_shared_between_entries(journal: Journal):
    journal.add_entry(5, tags=["outdoors"], at=NOON)
    journal.add_entry(2, tags=["work", "outdoors"], at=NOON + timedelta(hours=1))
    journal.add_entry(3, at=NOON + timedelta(hours=2))
    assert journal.tags() == [("outdoors", 2), ("work", 1)]
    assert [e.mood for e in journal.entries(tag="OUTDOORS")] == [5, 2]
    assert journal.counts()["tags"] == 2


def test_entries_by_day_use_the_time_zone(journal: Journal):
    tz = timezone(timedelta(hours=-5))
    journal.add_entry(3, "late", at=datetime(2024, 5, 7, 2, 0, tzinfo=UTC))  # 21:00 on the 6th
    assert [e.note for e in journal.entries(DAY, DAY, tz=tz)] == ["late"]
    assert journal.entries(DAY, DAY, tz=UTC) == []


def test_delete_entry(journal: Journal):
    entry = journal.add_entry(1, "bad day", tags=["work"], at=NOON)
    journal.delete_entry(entry.id)
    assert journal.entries() == []
    with pytest.raises(InvalidEntryError, match="no entry"):
        journal.delete_entry(entry.id)


@pytest.mark.parametrize(
    ("mood", "message"),
    [
        (0, "1 to 5"),
        (6, "1 to 5"),
        (3.5, "whole number"),
        ("high", "whole number"),
        (True, "whole number"),
        (None, "whole number"),
    ],
)
def test_invalid_mood_is_refused_and_nothing_stored(journal: Journal, mood, message):
    with pytest.raises(InvalidEntryError, match=message):
        journal.add_entry(mood, "x")
    assert journal.counts()["entries"] == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"note": "a\x00b"}, "NUL"),
        ({"note": "x" * 10_001}, "characters"),
        ({"tags": [""]}, "empty"),
        ({"tags": ["x" * 65]}, "longer"),
        ({"tags": [3]}, "must be text"),
        ({"at": datetime.now(UTC) + timedelta(days=1)}, "future"),
    ],
)
def test_invalid_entry_parts_are_refused(journal: Journal, kwargs, message):
    with pytest.raises(InvalidEntryError, match=message):
        journal.add_entry(3, **kwargs)
    assert journal.counts() == {
        "sessions": 0,
        "intervals": 0,
        "changes": 0,
        "entries": 0,
        "tags": 0,
    }


def _record_day(journal: Journal) -> JournalPlugin:
    """A 60 s session on DAY at noon: 36 s happy, then 24 s sad; one scene mood change."""
    plugin = JournalPlugin(journal=journal, interval=10.0, flush_every=60)
    from moodlens import StreamInfo, StreamSummary

    plugin.moodlens_stream_started(StreamInfo("clip.mp4", NOON, 10.0))
    plugin.moodlens_mood_changed(change(0.5, NOON, None, "happy"))
    frames = feed(plugin, NOON, [("happy", 36), ("sad", 24)])
    plugin.moodlens_mood_changed(change(36.5, NOON + timedelta(seconds=36.5), "happy", "sad"))
    plugin.moodlens_stream_stopped(StreamSummary("end", frames, 59.9, NOON + timedelta(seconds=61)))
    plugin.close()
    return plugin


def test_daily_summary_shares_changes_entries_and_streak(journal: Journal):
    _record_day(journal)
    journal.add_entry(4, "walk", tags=["outdoors"], at=NOON + timedelta(hours=2))
    journal.add_entry(2, "work", tags=["work", "outdoors"], at=NOON + timedelta(hours=5))
    journal.add_entry(5, at=NOON - timedelta(days=1))  # the day before: streak 2
    s = journal.daily_summary(DAY, tz=UTC)
    assert isinstance(s, JournalSummary)
    assert s.tracked_seconds == pytest.approx(60.0, abs=0.2)
    # Intervals of 10 s: 0-30 happy, 30-40 mixed (6 s happy, 4 s sad: happy), 40-60 sad.
    assert s.emotion_share[Emotion.HAPPY] == pytest.approx(40 / 60, abs=0.01)
    assert s.emotion_share[Emotion.SAD] == pytest.approx(20 / 60, abs=0.01)
    assert sum(s.emotion_share.values()) == pytest.approx(1.0)
    assert s.dominant is Emotion.HAPPY
    assert s.mood_changes == 1  # the first mood settling is not a change
    assert s.sessions == 1
    assert [e.mood for e in s.entries] == [4, 2] and s.mean_mood == 3.0
    assert s.tags == (("outdoors", 2), ("work", 1))
    assert s.streak == 2
    text = s.format()
    assert "mostly happy" in text and "67%" in text and "streak: 2 days" in text
    assert s.to_dict()["emotion_share"]["sad"] == pytest.approx(1 / 3, abs=0.01)


def test_weekly_summary_has_seven_days(journal: Journal):
    _record_day(journal)
    journal.add_entry(3, at=NOON + timedelta(days=2))
    week = journal.weekly_summary(DAY + timedelta(days=3), tz=UTC)
    assert (week.start, week.end) == (DAY, DAY + timedelta(days=6))
    assert [d.day for d in week.days] == [DAY + timedelta(days=i) for i in range(7)]
    monday, _, wednesday, *_ = week.days
    assert monday.dominant is Emotion.HAPPY and monday.mood_changes == 1
    assert wednesday.entries == 1 and wednesday.mean_mood == 3.0
    assert week.streak == 0  # as of Sunday, after two quiet days
    assert journal.streak(DAY + timedelta(days=3), tz=UTC) == 1  # Wednesday alone
    assert "week 2024-05-06 to 2024-05-12" in week.format()


def test_empty_period_and_bad_period(journal: Journal):
    s = journal.daily_summary(DAY, tz=UTC)
    assert s.is_empty and s.dominant is None and s.emotion_share == {} and s.streak == 0
    assert "nothing recorded" in s.format()
    with pytest.raises(InvalidEntryError, match="before it starts"):
        journal.summary(DAY, DAY - timedelta(days=1))


def test_streak_ignores_a_quiet_today_but_not_a_gap(journal: Journal):
    for back in (1, 2, 3, 5):
        journal.add_entry(3, at=NOON - timedelta(days=back))
    assert journal.streak(DAY, tz=UTC) == 3  # 5th, 4th, 3rd; the 1st is past a gap
    journal.add_entry(3, at=NOON)
    assert journal.streak(DAY, tz=UTC) == 4


def test_export_csv_entries_moods_changes(journal: Journal, tmp_path):
    _record_day(journal)
    journal.add_entry(4, 'says "hi", twice', tags=["a b", "c"], at=NOON)
    path = tmp_path / "moods.csv"
    assert journal.export_csv(path, tz=UTC) == 1
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert rows[0]["note"] == 'says "hi", twice' and rows[0]["tags"] == "a b;c"
    assert rows[0]["time"] == "2024-05-06T12:00:00+00:00" and rows[0]["label"] == "good"
    buf = io.StringIO()
    count = journal.export_csv(buf, what="moods", tz=UTC)
    moods = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert count == len(moods) == 12  # 6 intervals, scene and face 1
    scene = [r for r in moods if r["face"] == "scene"]
    assert sum(int(r["frames"]) for r in scene) == 600
    assert {r["dominant"] for r in scene} == {"happy", "sad"}
    assert float(scene[0]["happy"]) == pytest.approx(0.7)
    buf = io.StringIO()
    assert journal.export_csv(buf, what="changes") == 2
    with pytest.raises(InvalidEntryError, match="cannot export"):
        journal.export_csv(buf, what="photos")  # type: ignore[arg-type]


def test_export_to_an_unwritable_place_keeps_nothing_half_written(journal: Journal, tmp_path):
    from moodlens_journal import JournalError

    with pytest.raises(JournalError, match="cannot write"):
        journal.export_csv(tmp_path / "missing-folder" / "x.csv")


def test_charts_of_a_day_and_a_week(journal: Journal, tmp_path):
    pytest.importorskip("matplotlib")
    _record_day(journal)
    journal.add_entry(4, "walk in the park", tags=["outdoors"], at=NOON + timedelta(minutes=3))
    day = journal.save_chart(tmp_path / "day.png", day=DAY, tz=UTC)
    week = journal.save_chart(tmp_path / "week.png", week=DAY, tz=UTC)
    empty = journal.save_chart(tmp_path / "empty.png", day=DAY - timedelta(days=30), tz=UTC)
    for path in (day, week, empty):
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    with pytest.raises(InvalidEntryError):
        journal.save_chart(tmp_path / "x.png", day=DAY, week=DAY)


def test_closed_journal_says_so(db_url):
    from moodlens_journal import JournalError

    j = Journal(db_url)
    j.close()
    j.close()
    with pytest.raises(JournalError, match="closed"):
        j.entries()
