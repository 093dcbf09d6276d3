"""The mood-journal plugin: batching, interval rows updated in place, retries, stream use."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from moodlens import Box, Emotion, Face, StreamInfo, StreamSummary
from moodlens_journal import InvalidEntryError, Journal, JournalPlugin, JournalUnavailableError

from .conftest import change, feed, reading, scores

UTC = timezone.utc
T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)


def _started(plugin: JournalPlugin, source: str = "camera 0", fps: float | None = 10.0) -> None:
    plugin.moodlens_stream_started(StreamInfo(source, T0, fps))


def test_aggregates_per_interval_and_face_never_per_frame(journal: Journal):
    plugin = JournalPlugin(journal=journal, interval=5.0, flush_every=60)
    _started(plugin)
    # 12 s at 10 fps; face 2 joins for the last 4 s.
    for i in range(120):
        faces = ((1, "happy"), (2, "angry")) if i >= 80 else ((1, "happy"),)
        plugin.moodlens_reading(
            reading(i / 10, T0 + timedelta(seconds=i / 10), "happy", index=i, faces=faces)
        )
    plugin.moodlens_stream_stopped(StreamSummary("end", 120, 11.9, T0 + timedelta(seconds=12)))
    plugin.close()
    rows = journal.intervals(faces=True)
    scene = [r for r in rows if r.face_id is None]
    assert [r.frames for r in scene] == [50, 50, 20]  # 0-5 s, 5-10 s, 10-12 s
    assert sum(r.seconds for r in scene) == pytest.approx(12.0, abs=0.01)
    assert all(r.dominant is Emotion.HAPPY for r in scene)
    assert scene[0].scores[Emotion.HAPPY] == pytest.approx(0.7)
    face2 = [r for r in rows if r.face_id == 2]
    assert [r.frames for r in face2] == [20, 20] and face2[0].dominant is Emotion.ANGRY
    assert len(rows) == 3 + 3 + 2
    (session,) = journal.sessions()
    assert (session.source, session.stop_reason, session.frames, session.fps) == (
        "camera 0",
        "end",
        120,
        10.0,
    )
    assert session.stopped_at == T0 + timedelta(seconds=12)


def test_an_interval_still_filling_is_updated_not_duplicated(journal: Journal):
    plugin = JournalPlugin(journal=journal, interval=10.0, flush_every=60, faces=False)
    _started(plugin)
    feed(plugin, T0, [("sad", 3)])
    plugin.flush()
    (first,) = journal.intervals()
    assert first.frames == 30 and plugin.pending == 0
    feed(plugin, T0 + timedelta(seconds=3), [("sad", 2)], ts0=3.0)
    assert plugin.pending == 1
    plugin.flush()
    (second,) = journal.intervals()
    assert second.frames == 50 and second.started_at == first.started_at
    assert second.ended_at > first.ended_at
    plugin.close()


def test_mood_changes_and_faces_setting(journal: Journal):
    plugin = JournalPlugin(journal=journal, flush_every=60, faces=False)
    _started(plugin)
    plugin.moodlens_mood_changed(change(0.5, T0, None, "neutral"))
    plugin.moodlens_mood_changed(change(3.0, T0, "neutral", "happy", face_id=4))
    plugin.moodlens_mood_changed(change(4.0, T0, "happy", None, face_id=4))
    feed(plugin, T0, [("happy", 1)])
    plugin.close()
    assert {r.face_id for r in journal.intervals(faces=True)} == {None}
    assert journal.counts()["changes"] == 3


def test_periodic_flush_happens_without_stop(journal: Journal):
    plugin = JournalPlugin(journal=journal, flush_every=0.2)
    _started(plugin)
    feed(plugin, T0, [("happy", 1)])
    deadline = time.monotonic() + 10
    while journal.counts()["intervals"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sum(r.frames for r in journal.intervals()) == 10
    assert journal.sessions()[0].stopped_at is None  # still running
    plugin.close()


def test_hooks_without_stream_started_open_a_session(journal: Journal):
    plugin = JournalPlugin(journal=journal, flush_every=60)
    feed(plugin, T0, [("fear", 2)])
    plugin.close()
    (session,) = journal.sessions()
    assert session.source == "unknown" and session.started_at == T0


def test_one_instance_serves_streams_one_after_another(journal: Journal):
    plugin = JournalPlugin(journal=journal, flush_every=60)
    for n in range(2):
        _started(plugin, source=f"clip{n}.mp4")
        feed(plugin, T0 + timedelta(minutes=n), [("happy", 1)])
        plugin.moodlens_stream_stopped(StreamSummary("end", 10, 0.9, T0))
    plugin.close()
    assert [s.source for s in journal.sessions()] == ["clip0.mp4", "clip1.mp4"]
    assert journal.counts()["intervals"] == 4


def test_database_errors_are_logged_retried_and_nothing_is_lost(
    journal: Journal, monkeypatch, caplog
):
    real = Journal.session
    failures = {"left": 3}

    def flaky(self, doing, *, write=False):
        if write and failures["left"] > 0:
            failures["left"] -= 1
            raise JournalUnavailableError("server closed the connection unexpectedly")
        return real(self, doing, write=write)

    monkeypatch.setattr(Journal, "session", flaky)
    plugin = JournalPlugin(journal=journal, flush_every=0.05)
    with caplog.at_level(logging.WARNING, logger="moodlens_journal"):
        _started(plugin)
        feed(plugin, T0, [("happy", 2)])  # hooks never raise
        plugin.moodlens_mood_changed(change(1.0, T0, None, "happy"))
        plugin.moodlens_stream_stopped(StreamSummary("end", 20, 1.9, T0))
        deadline = time.monotonic() + 15
        while plugin.pending and time.monotonic() < deadline:
            time.sleep(0.05)
        plugin.close()
    assert failures["left"] == 0
    assert "server closed the connection" in caplog.text
    assert sum(r.frames for r in journal.intervals()) == 20
    assert journal.counts()["changes"] == 1 and journal.sessions()[0].stop_reason == "end"


def test_unwritable_on_close_is_reported_with_counts(journal: Journal, monkeypatch, caplog):
    def broken(self, doing, *, write=False):
        raise JournalUnavailableError("disk full")

    plugin = JournalPlugin(journal=journal, flush_every=60)
    feed(plugin, T0, [("sad", 1)])
    monkeypatch.setattr(Journal, "session", broken)
    with caplog.at_level(logging.ERROR, logger="moodlens_journal"):
        plugin.close()
    assert "unwritten record(s) are lost on close" in caplog.text and "disk full" in caplog.text


def _database_down(monkeypatch) -> dict[str, bool]:
    """Every write fails with JournalUnavailableError while ``state["down"]`` is True."""
    real = Journal.session
    state = {"down": True}

    def maybe(self, doing, *, write=False):
        if write and state["down"]:
            raise JournalUnavailableError("could not connect to server: Connection refused")
        return real(self, doing, write=write)

    monkeypatch.setattr(Journal, "session", maybe)
    return state


def test_the_buffer_is_capped_while_the_database_is_down(journal: Journal, monkeypatch, caplog):
    state = _database_down(monkeypatch)
    plugin = JournalPlugin(journal=journal, interval=1.0, flush_every=3600, max_buffered=50)
    _started(plugin)
    feed(plugin, T0, [("happy", 30), ("sad", 30)])  # 60 s: 60 scene + 60 face-1 intervals
    for k in range(5):
        plugin.moodlens_mood_changed(change(10.0 * k, T0, "happy", "sad"))
    assert plugin.buffered == 125 and plugin.dropped == 0
    with caplog.at_level(logging.WARNING, logger="moodlens_journal"):
        plugin.moodlens_stream_stopped(StreamSummary("end", 600, 59.9, T0 + timedelta(seconds=60)))
    # The write failed: the 75 oldest intervals went, the newest 45 and every change stayed.
    assert plugin.buffered == 50 and plugin.dropped == 75
    assert "dropped the 75 oldest interval(s) and 0 mood change(s)" in caplog.text
    assert "75 dropped in all" in caplog.text
    state["down"] = False
    with caplog.at_level(logging.ERROR, logger="moodlens_journal"):
        plugin.close()
    assert "75 record(s) were dropped" in caplog.text
    rows = journal.intervals(faces=True)
    assert len(rows) == 45 and journal.counts()["changes"] == 5
    assert all(r.dominant is Emotion.SAD for r in rows)  # the newest were kept
    assert journal.sessions()[0].stop_reason == "end"


def test_past_the_cap_changes_go_after_finished_intervals_never_the_filling_ones(
    journal: Journal, monkeypatch, caplog
):
    _database_down(monkeypatch)
    plugin = JournalPlugin(journal=journal, interval=1.0, flush_every=3600, max_buffered=3)
    _started(plugin)
    feed(plugin, T0, [("happy", 10)])  # buckets 0-9; bucket 9 (scene, face 1) still filling
    for k in range(5):
        plugin.moodlens_mood_changed(change(float(k), T0, "neutral", "happy"))
    with caplog.at_level(logging.WARNING, logger="moodlens_journal"):
        plugin.close()
    assert plugin.dropped == 18 + 4 and plugin.buffered == 3
    assert "dropped the 18 oldest interval(s) and 4 mood change(s)" in caplog.text
    assert "unwritten record(s) are lost on close" in caplog.text


@pytest.mark.parametrize(
    "settings",
    [{"interval": 0}, {"flush_every": -1}, {"interval": float("nan")}, {"flush_every": "2"}],
)
def test_bad_settings_are_refused(settings, tmp_path):
    with pytest.raises(InvalidEntryError, match="positive number"):
        JournalPlugin(tmp_path / "j.db", **settings)


@pytest.mark.parametrize("cap", [0, -5, "10", 1.5, True])
def test_a_bad_buffer_cap_is_refused(cap, tmp_path):
    with pytest.raises(InvalidEntryError, match="max_buffered must be a whole number"):
        JournalPlugin(tmp_path / "j.db", max_buffered=cap)


def test_unreachable_server_is_retried_not_fatal(caplog):
    # Nothing listens on port 1: the plugin keeps readings and logs instead of failing the stream.
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    pytest.importorskip("psycopg")
    with caplog.at_level(logging.ERROR, logger="moodlens_journal"):
        plugin = JournalPlugin(url, flush_every=60)
        feed(plugin, T0, [("happy", 1)])
        assert plugin.pending == 3  # the session, the scene and face 1
        with pytest.raises(JournalUnavailableError, match="opening the journal"):
            plugin.flush()
        plugin.close()
    assert "retried" in caplog.text


class _Detector:
    """One face whose scores come from the frame's first pixel: <128 happy, else sad."""

    def find_faces(self, image, *, near=None, rgb=False):
        return [Box(20, 20, 60, 60)]

    def detect(self, image, *, boxes=None, rgb=False):
        top = "happy" if image.flat[0] < 128 else "sad"
        return [Face(b, scores(top, 0.9)) for b in boxes]

    def close(self):
        pass


def _frames(n: int, switch: int):
    for i in range(n):
        image = np.full((100, 100), 0 if i < switch else 255, dtype=np.uint8)
        yield image, i / 10


@pytest.mark.parametrize("how", ["instance", "entry point"])
def test_with_a_mood_stream(db_url, how):
    from moodlens import MoodStream, MoodStreamOptions

    # Frames come faster than any plugin thread is scheduled here; a deep mailbox keeps
    # every reading (by default a plugin that falls behind has old readings coalesced).
    options = MoodStreamOptions(queue_size=1000)

    if how == "instance":
        kwargs = {"plugins": [JournalPlugin(db_url, interval=3, flush_every=0.5)]}
    else:
        kwargs = {
            "plugins": ["mood-journal"],
            "plugin_settings": {"mood-journal": {"url": db_url, "interval": 3}},
        }
    with MoodStream(
        _frames(60, 30), detector=_Detector(), config=False, options=options, **kwargs
    ) as stream:
        plugin = stream.plugins["mood-journal"]
        for _ in stream:
            pass
    if how == "instance":
        plugin.close()
    with Journal(db_url) as journal:
        (session,) = journal.sessions()
        assert session.stop_reason == "end" and session.frames == 60
        scene = journal.intervals()
        assert sum(r.frames for r in scene) == 60
        assert [r.dominant for r in scene] == [Emotion.HAPPY, Emotion.SAD]  # 0-3 s, 3-6 s
        s = journal.summary(
            scene[0].started_at.date() - timedelta(days=1),
            scene[0].started_at.date() + timedelta(days=1),
            tz=UTC,
        )
        assert s.mood_changes >= 1 and s.emotion_share[Emotion.HAPPY] == pytest.approx(
            0.5, abs=0.05
        )


def test_hooks_are_safe_from_several_threads(journal: Journal):
    plugin = JournalPlugin(journal=journal, flush_every=0.05, faces=False)
    _started(plugin)

    def worker(offset: float) -> None:
        for i in range(200):
            plugin.moodlens_reading(reading(offset + i * 0.01, T0, "neutral", index=i))

    threads = [threading.Thread(target=worker, args=(k * 100.0,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    plugin.close()
    assert sum(r.frames for r in journal.intervals()) == 600
