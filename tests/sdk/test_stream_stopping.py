"""Stopping: plugins are closed even when a stream never starts; a stop is never lost."""

from __future__ import annotations

import sys

import pytest
from moodlens import MoodlensError, PluginError, SourceError
from moodlens._plugins import PluginManager
from moodlens._stream import MoodStream

from ._stream_support import Recorder, ScriptedDetector, coded_frame, make_distribution

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
