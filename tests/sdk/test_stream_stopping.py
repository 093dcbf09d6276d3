"""Stopping: plugins are closed even when a stream never starts; a stop is never lost, and
reaches a slow or stalled plugin promptly."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from datetime import datetime, timezone

import pytest
from moodlens import (
    Box,
    Emotion,
    MoodChange,
    MoodlensError,
    OptionsError,
    PluginError,
    PluginManager,
    SourceError,
    StreamInfo,
    StreamSummary,
    hookimpl,
)
from moodlens._stream import MoodStream

from ._stream_support import (
    Recorder,
    ScriptedDetector,
    assert_complete_sequence,
    coded_frame,
    make_distribution,
    scores,
)

CLOSING = """
from moodlens import hookimpl

CLOSED = []

class Good:
    def __init__(self, tag="good"):
        self.tag = tag

    @hookimpl
    def moodlens_stream_stopped(self, summary):
        pass

    def close(self):
        CLOSED.append(self.tag)

class Unmarked(Good):
    def moodlens_reading(self, reading):  # no @hookimpl: refused after creation
        pass
"""


@pytest.fixture()
def closing_dist(tmp_path, monkeypatch):
    root = make_distribution(
        tmp_path / "site",
        dist="moodlens-closing",
        version="1.0",
        entry_points={"good": "mltest_closing:Good", "unmarked": "mltest_closing:Unmarked"},
        modules={"mltest_closing": CLOSING},
    )
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("MOODLENS_CONFIG", str(tmp_path / "absent.toml"))
    yield root
    sys.modules.pop("mltest_closing", None)


def closed_tags() -> list[str]:
    return sys.modules["mltest_closing"].CLOSED


@pytest.mark.parametrize(
    ("plugins", "message"),
    [
        (["good", "unmarked"], "lack the @moodlens.hookimpl"),
        (["good", "good"], "enabled twice"),
    ],
)
def test_plugins_created_before_a_refusal_are_closed(closing_dist, plugins, message):
    with pytest.raises(PluginError, match=message):
        PluginManager(plugins)
    assert sorted(closed_tags()) == sorted(["good"] * len(plugins))


def test_a_source_that_cannot_open_closes_the_plugins_it_created(closing_dist, tmp_path):
    with pytest.raises(SourceError):
        MoodStream(tmp_path / "missing.mp4", plugins=["good"], detector=ScriptedDetector([]))
    assert closed_tags() == ["good"]


def test_a_manager_that_never_started_closes_its_plugins_on_stop(closing_dist):
    manager = PluginManager(["good"])
    manager.stop(summary=None)  # never started: no hook is called
    manager.close()
    assert closed_tags() == ["good"]
    with pytest.raises(PluginError, match="closed"):
        manager.start(info=None)


def test_an_interrupted_stop_completes_on_the_next_call_and_is_heard_once(monkeypatch):
    recorder = Recorder()
    stream = MoodStream(
        [(coded_frame(i), i / 10) for i in range(3)],
        detector=ScriptedDetector([[]] * 3),
        plugins=[recorder],
    )
    manager = stream._plugins
    real_stop = manager.stop
    calls = []

    def interrupted_once(summary):
        calls.append(summary)
        if len(calls) == 1:
            raise KeyboardInterrupt  # a second Ctrl-C while waiting for the plugins
        return real_stop(summary)

    monkeypatch.setattr(manager, "stop", interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        stream.close()
    summary = stream.close()
    assert len(calls) == 2 and calls[1] is summary
    assert stream.close() is summary and len(calls) == 2  # done: not again
    assert recorder.kinds() == ["started", "stopped"]


def test_frames_fed_by_hand_after_the_stop_are_refused():
    recorder = Recorder()
    stream = MoodStream(
        [(coded_frame(0), 0.0)], detector=ScriptedDetector([[]]), plugins=[recorder]
    )
    stream.close()
    with pytest.raises(MoodlensError, match="stopped"):
        stream.process(next(iter(stream.source)))
    assert recorder.kinds() == ["started", "stopped"]


class SlowReader(Recorder):
    """Takes 2 s per reading (the issue's measurement); other hooks are quick."""

    @hookimpl
    def moodlens_reading(self, reading):
        time.sleep(2.0)
        self._record("reading", reading)


def test_a_slow_plugin_hears_the_stop_promptly_and_before_close_returns():
    n = 40
    slow = SlowReader("slow")
    script = [[(Box(10, 10, 40, 40), scores("happy", 0.8))]] * n
    frames = [(coded_frame(i), i / 10) for i in range(n)]
    stream = MoodStream(frames, detector=ScriptedDetector(script), plugins=[slow])
    changes = []
    started = time.monotonic()
    summary = stream.run(on_change=changes.append)
    took = time.monotonic() - started
    # What the plugin heard is complete when run() (and so close()) returns.
    assert slow.kinds()[-1] == "stopped" and slow.of("stopped") == [summary]
    assert_complete_sequence(slow.events, changes, reason="end")  # every mood change
    (stats,) = stream.stats.plugins
    assert stats.finished and stats.dropped_at_stop > 0
    assert len(slow.of("reading")) + stats.coalesced + stats.dropped_at_stop == n
    # The reading in hand (2 s), no more: not the 10 s stop_timeout, nor 2 s for each of
    # 32 readings. Loose bound for a loaded machine.
    assert took < 6.0, took


class Stalled(Recorder):
    """Its mood-change hook never returns (until the test lets it)."""

    def __init__(self, name):
        super().__init__(name)
        self.gate = threading.Event()
        self.stuck = threading.Event()

    @hookimpl
    def moodlens_mood_changed(self, change):
        self.stuck.set()
        self.gate.wait()
        self._record("changed", change)


def _change(i: int) -> MoodChange:
    moods = (Emotion.HAPPY, Emotion.SAD)
    at = datetime.now(timezone.utc)
    return MoodChange(None, moods[i % 2], moods[(i + 1) % 2], i / 10, at, 0.9)


class Counting(Recorder):
    """Lets the test wait until it has taken a number of mood changes."""

    def __init__(self, name):
        super().__init__(name)
        self.cond = threading.Condition()

    @hookimpl
    def moodlens_mood_changed(self, change):
        with self.cond:
            self._record("changed", change)
            self.cond.notify_all()

    def wait_for_changes(self, n):
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.of("changed")) >= n, timeout=60)


def test_a_plugin_that_stops_taking_its_mail_is_disabled_and_memory_stays_bounded(caplog):
    stalled, good = Stalled("stalled"), Counting("good")
    manager = PluginManager([stalled, good], max_pending=50, stop_timeout=30)
    manager.start(StreamInfo("frames", datetime.now(timezone.utc), None))
    watchdog = threading.Timer(60.0, stalled.gate.set)
    watchdog.start()
    sent = [_change(i) for i in range(5000)]
    with caplog.at_level(logging.ERROR, logger="moodlens"):
        manager.mood_changed(sent[0])
        assert stalled.stuck.wait(60)  # inside its hook, for good
        good.wait_for_changes(1)
        for i, change in enumerate(sent[1:], 2):
            manager.mood_changed(change)
            assert len(manager._workers[0]._items) <= 50  # never more than the cap
            if i % 20 == 0:  # a plugin that keeps up never has 50 waiting
                good.wait_for_changes(i)
    (stalled_stats, good_stats) = manager.stats()
    assert stalled_stats.disabled and "mailbox held 50" in stalled_stats.disabled_reason
    assert "plugin 'stalled' disabled: its mailbox held 50 undelivered calls" in caplog.text
    assert not good_stats.disabled
    stalled.gate.set()  # it comes back: it hears only the stop, to release what it holds
    manager.stop(StreamSummary("end", 0, 0.0, datetime.now(timezone.utc)))
    watchdog.cancel()
    assert good.of("changed") == sent  # mood changes are never dropped for a plugin that keeps up
    assert stalled.kinds() == ["started", "changed", "stopped"]  # the one it was stuck in


def test_close_takes_a_reason_for_plugins_and_refuses_unknown_ones():
    recorder = Recorder()
    stream = MoodStream(
        [(coded_frame(0), 0.0)], detector=ScriptedDetector([[]]), plugins=[recorder]
    )
    with pytest.raises(OptionsError, match="reason must be one of"):
        stream.close(reason="because")
    assert stream.close(reason="interrupted").reason == "interrupted"
    assert recorder.of("stopped")[0].reason == "interrupted"


def test_the_library_installs_no_signal_handler():
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    frames = [(coded_frame(i), i / 10) for i in range(3)]
    MoodStream(frames, detector=ScriptedDetector([[]] * 3), plugins=[Recorder()]).run()
    assert {s: signal.getsignal(s) for s in handlers} == handlers


class LateStarter(Recorder):
    """Busy in stream_started until the test lets it go; its readings are quick."""

    def __init__(self, name):
        super().__init__(name)
        self.gate = threading.Event()

    @hookimpl
    def moodlens_stream_started(self, info):
        self.gate.wait(60)
        self._record("started", info)


def test_a_plugin_that_takes_readings_quickly_gets_those_pending_at_the_stop():
    n = 20
    late = LateStarter("late")
    script = [[(Box(10, 10, 40, 40), scores("happy", 0.8))]] * n
    frames = [(coded_frame(i), i / 10) for i in range(n)]
    stream = MoodStream(frames, detector=ScriptedDetector(script), plugins=[late])
    iterator = iter(stream)
    for _ in range(n):  # all n readings now wait in its mailbox
        next(iterator)
    closer = threading.Thread(target=stream.close)
    closer.start()
    worker = stream._plugins._workers[0]
    while not worker.stop_queued:  # the stop is queued behind the readings
        time.sleep(0.001)
    late.gate.set()
    closer.join(60)
    (stats,) = stream.stats.plugins
    assert len(late.of("reading")) == n and stats.dropped_at_stop == 0 and stats.finished
    assert late.kinds()[-1] == "stopped"
