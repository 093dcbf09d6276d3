"""Plugins: entry-point discovery, settings, isolation of failing and slow plugins."""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

import moodlens
import pytest
from moodlens import (
    Box,
    PluginConfig,
    PluginError,
    PluginManager,
    hookimpl,
    installed_plugins,
    load_plugin_config,
)
from moodlens._plugin_config import config_dir, config_path, legacy_config_dir
from moodlens._stream import MoodStream, MoodStreamOptions

from ._stream_support import (
    Recorder,
    ScriptedDetector,
    assert_complete_sequence,
    coded_frame,
    make_distribution,
    scores,
)

RECORDING = """
from moodlens import hookimpl

class Rec:
    closed = 0

    def __init__(self, label="default", limit=3):
        self.label, self.limit, self.calls = label, limit, []

    @hookimpl
    def moodlens_mood_changed(self, change):
        self.calls.append(change)

    @hookimpl
    def moodlens_stream_stopped(self, summary):
        self.calls.append(summary)

    def close(self):
        Rec.closed += 1
"""


@pytest.fixture(scope="module")
def fake_dist(tmp_path_factory):
    """A distribution 'moodlens-testplugins' 2.5.0 with several entry points, on sys.path."""
    root = make_distribution(
        tmp_path_factory.mktemp("site"),
        dist="moodlens-testplugins",
        version="2.5.0",
        entry_points={
            "test-rec": "mltest_rec:Rec",
            "test-broken": "mltest_broken:Thing",
            "test-plain": "mltest_plain:Plain",
            "test-fails-init": "mltest_plain:Failing",
        },
        modules={
            "mltest_rec": RECORDING,
            "mltest_broken": "import mltest_not_installed_anywhere\nclass Thing: pass\n",
            "mltest_plain": (
                "class Plain:\n    def moodlens_reading(self, reading): pass\n"
                "class Failing:\n    def __init__(self):\n        raise OSError('no network')\n"
            ),
        },
    )
    sys.path.insert(0, str(root))
    yield root
    sys.path.remove(str(root))
    for name in ("mltest_rec", "mltest_broken", "mltest_plain"):
        sys.modules.pop(name, None)


@pytest.fixture(autouse=True)
def no_user_config(tmp_path, monkeypatch):
    monkeypatch.setenv("MOODLENS_CONFIG", str(tmp_path / "absent.toml"))


def test_listing_reads_metadata_without_importing(fake_dist):
    sys.modules.pop("mltest_rec", None)
    infos = {i.name: i for i in installed_plugins()}
    rec = infos["test-rec"]
    assert (rec.distribution, rec.version, rec.value) == (
        "moodlens-testplugins",
        "2.5.0",
        "mltest_rec:Rec",
    )
    assert rec.hooks is None and "mltest_rec" not in sys.modules
    assert {"mood-journal", "spotify-playlist"} <= set(infos)  # the first-party ones, same way


def test_listing_with_load_imports_and_names_hooks(fake_dist):
    infos = {i.name: i for i in installed_plugins(load=True)}
    assert infos["test-rec"].hooks == ("moodlens_mood_changed", "moodlens_stream_stopped")
    assert "mltest_not_installed_anywhere" in infos["test-broken"].error


def stream_with(plugins, *, n=10, **kwargs):
    script = [[(Box(10, 10, 40, 40), scores("happy", 0.8))]] * n
    frames = [(coded_frame(i), i / 10) for i in range(n)]
    return MoodStream(frames, detector=ScriptedDetector(script), plugins=plugins, **kwargs)


def test_enabled_by_name_with_settings_from_kwargs_over_the_config_file(fake_dist, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[plugins.test-rec]\nlabel = "from-file"\nlimit = 7\n')
    stream = stream_with(["test-rec"], plugin_settings={"test-rec": {"label": "kw"}}, config=config)
    plugin = stream.plugins["test-rec"]
    assert (plugin.label, plugin.limit) == ("kw", 7)
    closed_before = type(plugin).closed
    stream.run()
    # 2 changes as the mood settles, 2 as the stream ends with the face in view, the stop
    assert plugin.calls[-1].reason == "end" and len(plugin.calls) == 5
    assert type(plugin).closed == closed_before + 1  # created by the stream: closed by it


def test_user_config_file_comes_from_the_environment(fake_dist, tmp_path, monkeypatch):
    path = tmp_path / "mine.toml"
    path.write_text('enabled = ["test-rec"]\n[plugins.test-rec]\nlabel = "env"\n')
    monkeypatch.setenv("MOODLENS_CONFIG", str(path))
    config = load_plugin_config()
    assert config.enabled == ("test-rec",) and config.path == path
    assert config.settings("test-rec") == {"label": "env"} and config.settings("other") == {}
    manager = PluginManager(["test-rec"])
    assert manager.plugins["test-rec"].label == "env"


def test_no_config_file_is_an_empty_config(tmp_path):
    assert load_plugin_config() == PluginConfig()  # MOODLENS_CONFIG names an absent file
    with pytest.raises(PluginError, match="does not exist"):
        load_plugin_config(tmp_path / "missing.toml")


def test_config_folder_is_the_one_user_config_folder(monkeypatch):
    monkeypatch.delenv("MOODLENS_CONFIG")
    assert config_dir() == moodlens.user_config_dir()
    assert config_path() in (
        moodlens.user_config_dir() / "config.toml",
        legacy_config_dir() / "config.toml",
    )


@pytest.mark.parametrize(
    ("files", "read"),
    [(["legacy"], "legacy"), (["legacy", "current"], "current"), ([], "current")],
)
def test_a_config_at_the_old_location_is_still_read(files, read, tmp_path, monkeypatch):
    from moodlens import _plugin_config

    folders = {"current": tmp_path / "new" / "moodlens", "legacy": tmp_path / "old" / "moodlens"}
    monkeypatch.delenv("MOODLENS_CONFIG")
    monkeypatch.setattr(_plugin_config, "user_config_dir", lambda: folders["current"])
    monkeypatch.setattr(_plugin_config, "legacy_config_dir", lambda: folders["legacy"])
    for name in files:
        folders[name].mkdir(parents=True)
        (folders[name] / "config.toml").write_text(f'enabled = ["{name}"]\n')
    assert config_path() == folders[read] / "config.toml"
    assert load_plugin_config().enabled == ((read,) if files else ())
    assert (folders["legacy"] / "config.toml").exists() == ("legacy" in files)  # never moved


@pytest.mark.parametrize(
    ("platform", "env", "expected"),
    [
        ("linux", {"XDG_CONFIG_HOME": "/xdg"}, "/xdg/moodlens"),
        ("linux", {}, "~/.config/moodlens"),
        ("darwin", {}, "~/Library/Application Support/moodlens"),
        (
            "win32",
            {"LOCALAPPDATA": "C:/Users/me/AppData/Local"},
            "C:/Users/me/AppData/Local/moodlens",
        ),
    ],
)
def test_legacy_config_folder_by_the_old_scheme(platform, env, expected, monkeypatch):
    monkeypatch.setattr(sys, "platform", platform)
    for key in ("XDG_CONFIG_HOME", "LOCALAPPDATA"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert legacy_config_dir() == Path(expected).expanduser()


class NoHooks:
    pass


class Unmarked:
    def moodlens_reading(self, reading):
        pass


class WrongArgs:
    @hookimpl
    def moodlens_reading(self, frame):
        pass


class Named(Recorder):
    pass


@pytest.mark.parametrize(
    ("plugins", "kwargs", "message"),
    [
        (
            ["no-such-plugin"],
            {},
            r"no plugin named 'no-such-plugin' is installed \(installed: .*test-rec",
        ),
        (["test-broken"], {}, "cannot be imported.*mltest_not_installed_anywhere"),
        (
            ["test-rec"],
            {"plugin_settings": {"test-rec": {"colour": "red"}}},
            "does not accept these settings",
        ),
        (["test-fails-init"], {}, "could not be created: OSError: no network"),
        (["test-plain"], {}, "lack the @moodlens.hookimpl decorator"),
        ([Recorder], {}, "is a class; pass a configured instance"),
        ([NoHooks()], {}, "implements no moodlens hook"),
        ([Unmarked()], {}, "moodlens_reading lack the @moodlens.hookimpl"),
        ([WrongArgs()], {}, "does not fit the moodlens hooks"),
        ([Recorder("a"), Recorder("a")], {}, "enabled twice"),
        ([Recorder("a")], {"plugin_settings": {"a": {"x": 1}}}, "passed as an instance"),
        ([], {"plugin_settings": {"test-rec": {}}}, "'test-rec', which is not enabled"),
    ],
)
def test_plugin_errors_say_what_to_do(fake_dist, plugins, kwargs, message):
    with pytest.raises(PluginError, match=message):
        stream_with(plugins, **kwargs)


def test_bad_config_file(fake_dist, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[plugins.test-rec\n")
    with pytest.raises(PluginError, match="cannot be read"):
        stream_with(["test-rec"], config=bad)
    with pytest.raises(PluginError, match="does not exist"):
        stream_with(["test-rec"], config=tmp_path / "missing.toml")


def test_hooks_run_off_the_frame_loop_in_order():
    recorder = Recorder()
    stream = stream_with([recorder], n=20)
    changes = []
    stream.run(on_change=changes.append)
    assert_complete_sequence(recorder.events, changes, frames=20, reason="end")
    assert recorder.threads == {"moodlens-plugin-recorder"}


def test_a_raising_plugin_is_disabled_and_the_others_go_on(caplog):
    good, bad = Recorder("good"), Recorder("bad", fail_on={"reading"})
    stream = stream_with([bad, good], n=30, options=MoodStreamOptions(max_failures=3))
    changes = []
    with caplog.at_level(logging.ERROR, logger="moodlens"):
        stream.run(on_change=changes.append)
    assert_complete_sequence(good.events, changes, frames=30, reason="end")
    failed = [r for r in caplog.records if "'bad' raised in moodlens_reading" in r.getMessage()]
    assert len(failed) == 3
    assert any("'bad' disabled after 3 failures" in r.getMessage() for r in caplog.records)
    (stats,) = [s for s in stream.stats.plugins if s.name == "bad"]
    assert stats.disabled and stats.failures == 3
    # Disabled: no more readings or changes, but it still hears the stop.
    assert bad.kinds()[0] == "started" and bad.kinds()[-1] == "stopped"
    assert "reading" not in bad.kinds()


def test_failures_that_are_not_in_a_row_do_not_disable():
    flaky = Recorder("flaky", fail_on={"reading"}, fail_times=2)
    stream = stream_with([flaky], n=10, options=MoodStreamOptions(max_failures=3))
    stream.run()
    (stats,) = stream.stats.plugins
    assert not stats.disabled and stats.failures == 2 and len(flaky.of("reading")) == 8


class GatedRecorder(Recorder):
    """A plugin whose reading hook blocks until the gate opens: as slow as it gets."""

    def __init__(self, name):
        super().__init__(name)
        self.gate = threading.Event()

    @hookimpl
    def moodlens_reading(self, reading):
        self.gate.wait()
        self._record("reading", reading)


def test_a_slow_plugin_does_not_stall_the_stream_or_lose_mood_changes():
    """Structural, not timed: the slow plugin is blocked for the whole frame loop.

    Were frames waiting for it, the loop could not finish; a watchdog opens the gate
    after a long while so that failure shows as an assertion, not a hang.
    """
    n = 150
    slow, fast = GatedRecorder("slow"), Recorder("fast")
    watchdog = threading.Timer(60.0, slow.gate.set)
    watchdog.start()
    script = [[(Box(10, 10, 40, 40), scores("happy", 0.8))]] * n

    def camera_like():  # paced, so the fast plugin never falls 100 readings behind
        for i in range(n):
            time.sleep(0.001)
            yield coded_frame(i), i / 10

    stream = MoodStream(
        camera_like(),
        detector=ScriptedDetector(script),
        plugins=[slow, fast],
        options=MoodStreamOptions(queue_size=100),
    )
    changes = []
    loop_finished_while_blocked = False
    with stream:
        for reading in stream:
            changes.extend(stream.last_changes)
            if reading.frame_index == n - 1:  # every frame processed: now let it drain
                loop_finished_while_blocked = not slow.gate.is_set()
                slow.gate.set()
    watchdog.cancel()
    changes.extend(stream.last_changes)
    assert loop_finished_while_blocked, "the frame loop waited for the slow plugin"
    assert_complete_sequence(fast.events, changes, frames=n, reason="end")
    assert_complete_sequence(slow.events, changes, reason="end")  # readings may be coalesced
    (slow_stats,) = [s for s in stream.stats.plugins if s.name == "slow"]
    assert slow_stats.coalesced > 0 and slow_stats.finished
    assert len(slow.of("reading")) + slow_stats.coalesced + slow_stats.dropped_at_stop == n


def test_stop_waits_at_most_stop_timeout_for_a_stuck_plugin():
    stuck = Recorder("stuck", delay=8.0)
    stream = stream_with([stuck], n=1, options=MoodStreamOptions(stop_timeout=0.2))
    started = time.monotonic()
    stream.run()
    assert time.monotonic() - started < 6.0  # far below the stuck plugin's 8 s
    assert not stream.stats.plugins[0].finished


def test_an_instance_passed_in_is_not_closed():
    class Closable(Recorder):
        closed = False

        def close(self):
            self.closed = True

    plugin = Closable()
    stream_with([plugin]).run()
    assert not plugin.closed and plugin.kinds()[-1] == "stopped"
