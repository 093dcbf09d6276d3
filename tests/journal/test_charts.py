"""Charts draw the data they are given: distinct time labels, honest durations, the same
mood-change count as the summary and `journal info`."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone
from types import MappingProxyType

import pytest
from moodlens import Emotion
from moodlens_journal import Journal, JournalPlugin, JournalSummary, MoodInterval

from .conftest import change, feed

pytest.importorskip("matplotlib")

from moodlens_journal._chart import day_figure, week_figure  # noqa: E402
from moodlens_journal._summary import format_duration, format_share  # noqa: E402

UTC = timezone.utc
DAY = date(2024, 5, 8)


def _interval(start: datetime, seconds: float, top: Emotion = Emotion.HAPPY) -> MoodInterval:
    scores = {e: (0.7 if e is top else 0.05) for e in Emotion}
    return MoodInterval(1, None, start, start + timedelta(seconds=seconds), seconds, 10, top,
                        MappingProxyType(scores))  # fmt: skip


def _summary(seconds: float, start: date = DAY, end: date = DAY) -> JournalSummary:
    from moodlens_journal import DayStats

    days = tuple(
        DayStats(
            start + timedelta(days=k),
            seconds if k == 1 else 0.0,
            Emotion.HAPPY if k == 1 else None,
            0,
            0,
            None,
        )  # fmt: skip
        for k in range((end - start).days + 1)
    )
    return JournalSummary(
        start=start, end=end, tracked_seconds=seconds,
        emotion_share=MappingProxyType({Emotion.HAPPY: 1.0}), dominant=Emotion.HAPPY,
        mood_changes=0, sessions=1, entries=(), mean_mood=None, tags=(), streak=1, days=days,
    )  # fmt: skip


def _draw(fig) -> None:
    fig.savefig(io.BytesIO(), format="png")


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]


@pytest.mark.parametrize("seconds", [3, 50, 150, 40 * 60, 5 * 3600])
def test_day_chart_time_labels_are_never_repeated(seconds):
    start = datetime(2024, 5, 8, 22, 5, 1, tzinfo=UTC)
    intervals = [
        _interval(start + timedelta(seconds=t), min(10.0, seconds - t))
        for t in range(0, seconds, 10)
    ]
    fig = day_figure(_summary(seconds), intervals, tz=UTC)
    _draw(fig)
    labels = [t.get_text() for t in fig.axes[2].get_xticklabels() if t.get_text()]
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels
    assert all(len(label) in (5, 8) and label[2] == ":" for label in labels), labels


def test_week_chart_labels_a_short_day_in_seconds_not_0_min():
    monday = date(2024, 5, 6)
    tuesday = datetime(2024, 5, 7, 18, 0, tzinfo=UTC)
    fig = week_figure(
        _summary(20.0, monday, monday + timedelta(days=6)), [_interval(tuesday, 20.0)], tz=UTC
    )
    _draw(fig)
    texts = _texts(fig)
    assert "20 s" in texts and not any("0 min" == t for t in texts), texts
    assert any("face seen 20 s" in t for t in texts)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.4, "0 s"), (20, "20 s"), (59.6, "1 min"), (150, "2 min 30 s"), (600, "10 min"),
     (3599, "59 min"), (3 * 3600 + 5 * 60, "3 h 05 min")],
)  # fmt: skip
def test_durations_for_people(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize(("share", "text"), [(0.0, "0%"), (0.001, "<1%"), (0.53, "53%")])
def test_shares_for_people(share, text):
    assert format_share(share) == text


def test_summary_and_info_count_the_same_mood_changes(journal: Journal, capsys):
    from moodlens_journal._cli import main

    start = datetime.now(UTC) - timedelta(minutes=5)
    with JournalPlugin(journal=journal, interval=10.0, flush_every=60) as plugin:
        feed(plugin, start, [("happy", 20), ("sad", 20)])
        # As a stream reports them: face 1 and the scene settle, change once, then leave.
        for face in (1, None):
            plugin.moodlens_mood_changed(change(0.5, start, None, "happy", face))
            plugin.moodlens_mood_changed(change(20.5, start, "happy", "sad", face))
            plugin.moodlens_mood_changed(change(40.0, start, "sad", None, face))
    assert journal.counts()["changes"] == 6
    summary = journal.daily_summary(start.astimezone().date())
    assert summary.mood_changes == 1 and "1 mood change" in summary.format()
    url = journal.url.render_as_string(hide_password=False)
    assert main(["--db", url, "info"]) == 0
    out = capsys.readouterr().out
    assert "mood changes: 1 " in out and "mood events:  6 " in out
