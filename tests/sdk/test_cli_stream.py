"""`moodlens watch` and `moodlens plugins`, run as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import site as python_site
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from ..conftest import hear_ctrl_c
from ._stream_support import (
    JSONL_PLUGIN,
    env_with_path,
    face_crop,
    make_distribution,
    read_jsonl,
    write_clip,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A fake installed distribution with a recording plugin and one whose import is heavy."""
    return make_distribution(
        tmp_path_factory.mktemp("site"),
        dist="moodlens-clitest",
        version="0.3.1",
        entry_points={"jsonl": "mlcli_jsonl:JsonlPlugin", "heavy": "mlcli_heavy:Heavy"},
        modules={
            "mlcli_jsonl": JSONL_PLUGIN,
            "mlcli_heavy": (
                "raise RuntimeError('mlcli_heavy must not be imported by a listing')\n"
            ),
        },
    )


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample_bgr):
    path = tmp_path_factory.mktemp("cli") / "clip.mp4"
    return write_clip(path, face_crop(sample_bgr), frames=40, fps=20.0)


def moodlens(*args, env, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "moodlens", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def test_plugins_lists_name_version_and_enabled_without_importing(site, tmp_path):
    env = env_with_path(site)
    config = tmp_path / "config.toml"
    config.write_text('enabled = ["jsonl"]\n')
    env["MOODLENS_CONFIG"] = str(config)
    out = moodlens("plugins", env=env)
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line for line in out.stdout.splitlines() if line.strip()}
    assert "0.3.1" in rows["heavy"] and "moodlens-clitest" in rows["heavy"]
    assert "not imported" in rows["heavy"]
    assert rows["jsonl"].split()[3] == "yes" and rows["heavy"].split()[3] == "no"
    assert "mood-journal" in rows and "spotify-playlist" in rows

    data = {p["name"]: p for p in json.loads(moodlens("plugins", "--json", env=env).stdout)}
    assert data["jsonl"]["enabled"] and data["jsonl"]["hooks"] is None

    hooks = {
        p["name"]: p for p in json.loads(moodlens("plugins", "--json", "--hooks", env=env).stdout)
    }
    assert hooks["jsonl"]["hooks"] == [
        "moodlens_stream_started",
        "moodlens_reading",
        "moodlens_mood_changed",
        "moodlens_stream_stopped",
    ]
    assert "must not be imported" in hooks["heavy"]["error"]


def test_watch_video_with_progress_feeds_the_plugin(site, clip, tmp_path):
    log = tmp_path / "events.jsonl"
    out = moodlens(
        "watch",
        "--video",
        clip,
        "--plugin",
        "jsonl",
        "--set",
        f"jsonl.path={log}",
        "--progress",
        env=env_with_path(site),
    )
    assert out.returncode == 0, out.stderr
    assert "100% 40/40 frames" in out.stderr and "[" + "#" * 30 + "]" in out.stderr
    assert "mood: none -> happy" in out.stdout
    events = read_jsonl(log)
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "started" and kinds[-1] == "stopped" and events[-1]["reason"] == "end"
    assert [e["frame"] for e in events if e["kind"] == "reading"] == list(range(40))
    assert any(e["kind"] == "changed" and e["current"] == "happy" for e in events)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["watch", "--video", "missing.mp4"], "does not exist"),
        (["watch", "--camera", "97", "--no-plugins"], "camera 97"),
        (["watch", "--video", "CLIP", "--plugin", "nope"], "no plugin named 'nope'"),
        (["watch", "--video", "CLIP", "--plugin", "jsonl", "--set", "bad"], "PLUGIN.KEY=VALUE"),
        (["watch", "--video", "CLIP", "--show"], "GUI support"),
        (["watch", "--images", "BAD", "--no-plugins"], "BAD' cannot be decoded"),
    ],
)
def test_watch_errors_exit_1_with_a_message(site, clip, args, message, tmp_path):
    bad = tmp_path / "bad.jpg"  # not one image can be decoded: nothing to skip to
    bad.write_text("not an image")
    args = [{"CLIP": str(clip), "BAD": str(bad)}.get(a, a) for a in args]
    message = message.replace("BAD", str(bad))
    out = moodlens(*args, env=env_with_path(site))
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert message in out.stderr


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"]
)
def test_ctrl_c_and_sigterm_stop_cleanly_and_every_plugin_hears_it(
    site, tmp_path, sample_bgr, signum, code
):
    """Mid-video: the good plugin's calls are complete and ordered; the bad one is off.

    SIGTERM (systemd, ``docker stop``) is handled like Ctrl-C: the same clean stop.
    """
    clip = write_clip(tmp_path / "long.mp4", face_crop(sample_bgr), frames=120, fps=10.0)
    good, slow, bad = tmp_path / "good.jsonl", tmp_path / "slow.jsonl", tmp_path / "bad.jsonl"
    config = tmp_path / "config.toml"
    # Three instances of one plugin class need three names: three entry points.
    site2 = make_distribution(
        tmp_path / "site2",
        dist="moodlens-clitest-more",
        version="1.0",
        entry_points={"slow": "mlcli_more:Slow", "bad": "mlcli_more:Bad"},
        modules={
            "mlcli_more": (
                "from mlcli_jsonl import JsonlPlugin\n"
                "def Slow(path):\n    return JsonlPlugin(path, delay=0.3)\n"
                "def Bad(path):\n    return JsonlPlugin(path, fail=True)\n"
            )
        },
    )
    config.write_text(
        f'[plugins.jsonl]\npath = "{good}"\n[plugins.slow]\npath = "{slow}"\n'
        f'[plugins.bad]\npath = "{bad}"\n'
    )
    env = env_with_path(site, site2)
    env["MOODLENS_CONFIG"] = str(config)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "moodlens",
            "watch",
            "--video",
            str(clip),
            "--realtime",
            "--plugin",
            "bad",
            "--plugin",
            "slow",
            "--plugin",
            "jsonl",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=hear_ctrl_c,
    )
    deadline = time.monotonic() + 60
    while sum(e["kind"] == "reading" for e in read_jsonl(good)) < 15:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the stream never got going"
        time.sleep(0.1)
    assert proc.poll() is None, "the video ended before Ctrl-C; make it longer"
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert "interrupted:" in stderr and "plugin bad: disabled" in stderr
    assert stdout.splitlines()[-1].endswith("mood: happy -> none")  # the face ends at the stop

    events = read_jsonl(good)
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "started" and kinds[-1] == "stopped" and kinds.count("stopped") == 1
    assert events[-1]["reason"] == "interrupted"
    frames = [e["frame"] for e in events if e["kind"] == "reading"]
    assert frames == list(range(len(frames))) and len(frames) == events[-1]["frames"] < 120
    changes = [e for e in events if e["kind"] == "changed"]
    assert changes and changes[0]["current"] == "happy"
    assert [c["current"] for c in changes[-2:]] == [None, None]  # the face, then the scene

    slow_events = read_jsonl(slow)
    assert [e["kind"] for e in slow_events][-1] == "stopped"
    assert [e for e in slow_events if e["kind"] == "changed"] == changes  # never coalesced
    assert "'bad' raised in moodlens_stream_started" in stderr
    assert read_jsonl(bad) == [{"kind": "stopped", "reason": "interrupted", "frames": len(frames)}]


def _venv_beside_this_one(venv: Path) -> Path:
    """A new venv that also sees this interpreter's packages, as a user's own venv would.

    ``venv --system-site-packages`` would see the *base* interpreter's packages, not the
    ones installed in the venv running the tests (moodlens, pip, setuptools). A ``.pth``
    file that calls ``site.addsitedir`` adds them, with their own ``.pth`` files (an
    editable moodlens), after the new venv's own site-packages.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    ours = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    if python_site.ENABLE_USER_SITE:
        ours.append(python_site.getusersitepackages())
    theirs = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    lines = [f"import site; site.addsitedir({d!r})" for d in dict.fromkeys(ours)]
    (Path(theirs) / "_moodlens_test_outer_venv.pth").write_text("\n".join(lines) + "\n")
    return python


@pytest.mark.slow
def test_plugin_hello_installs_into_a_fresh_venv_and_is_found_by_name(tmp_path, sample_path):
    """examples/plugin_hello as a user installs it: its own distribution, its entry point.

    Offline (``--no-index``), so the build uses the installed setuptools
    (``--no-build-isolation``); the dev extra pins one that builds wheels by itself.
    """
    source = shutil.copytree(REPO / "examples" / "plugin_hello", tmp_path / "plugin_hello")
    python = _venv_beside_this_one(tmp_path / "venv")
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--no-build-isolation",
            "--disable-pip-version-check",
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    env = dict(os.environ, MOODLENS_CONFIG=str(tmp_path / "none.toml"))
    listed = subprocess.run(
        [str(python), "-m", "moodlens", "plugins", "--json", "--hooks"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    hello = {p["name"]: p for p in json.loads(listed.stdout)}["hello"]
    assert (hello["distribution"], hello["version"]) == ("moodlens-hello", "0.1.0")
    assert hello["hooks"] == [
        "moodlens_stream_started",
        "moodlens_mood_changed",
        "moodlens_stream_stopped",
    ]
    images = tmp_path / "images"
    images.mkdir()
    for i in range(4):
        shutil.copy(sample_path, images / f"{i}.jpg")
    out = subprocess.run(
        [
            str(python),
            "-m",
            "moodlens",
            "watch",
            "--images",
            str(images),
            "--plugin",
            "hello",
            "--set",
            'hello.greeting="hi"',
            "--hold",
            "0",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert f"hi, {images}!" in out.stdout
    assert "hi, happy at 0.0s" in out.stdout
    assert "goodbye after 4 frames (end)" in out.stdout
    # Not installed in this environment: the same name is unknown here.
    here = subprocess.run(
        [sys.executable, "-m", "moodlens", "watch", "--images", str(images), "--plugin", "hello"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert here.returncode == 1 and "no plugin named 'hello'" in here.stderr


# -- mistakes: a usage error (exit 2) with the usage line, never a traceback --------------------
@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--detect-every", "0", "must be 1 or more"),
        ("--detect-every", "two", "'two' is not a whole number"),
        ("--fps", "0", "must be above 0"),
        ("--fps", "-5", "must be above 0"),
        ("--half-life", "-1", "must be 0 or more seconds"),
        ("--hold", "-1", "must be 0 or more seconds"),
        ("--hold", "nan", "must be a finite number"),
        ("--threads", "0", "must be 1 or more"),
        ("--camera", "-1", "must be 0 or more"),
    ],
)
def test_watch_option_out_of_range_is_a_usage_error(option, value, message, capsys):
    from moodlens._cli_stream import watch_main

    args = ["--images", "x.jpg", option, value] if option != "--camera" else [option, value]
    with pytest.raises(SystemExit) as exited:
        watch_main(args)
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.startswith("usage: moodlens watch")
    assert f"argument {option}: {message}" in err and "Traceback" not in err


def test_watch_help_shows_every_default_and_version(capsys):
    from moodlens._cli_stream import _watch_parser, watch_main

    with pytest.raises(SystemExit) as exited:
        watch_main(["--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for expected in ("--detect-every N with tracking", "(default: 10)", "(default: 0.5)"):
        assert expected in text
    sources = {"--video", "--camera", "--images"}  # one of them is required: no default
    for action in _watch_parser()._actions:
        if action.help and not sources & set(action.option_strings):
            if action.dest not in ("help", "version"):
                assert "default" in action.help, action.option_strings
    with pytest.raises(SystemExit) as exited:
        watch_main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out.startswith("moodlens ")


def test_watch_images_skips_a_corrupt_image_with_a_warning_and_counts_it(tmp_path, sample_path):
    images = tmp_path / "images"
    images.mkdir()
    for name in ("a.jpg", "c.jpg"):
        shutil.copy(sample_path, images / name)
    (images / "b.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated, not a JPEG")
    env = dict(os.environ, MOODLENS_CONFIG=str(tmp_path / "none.toml"))
    out = moodlens("watch", "--images", images, "--no-plugins", "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert "b.jpg" in out.stderr and "cannot be decoded" in out.stderr and "skipped" in out.stderr
    summary = json.loads(out.stdout.splitlines()[-1])["summary"]
    assert (summary["frames"], summary["skipped_frames"], summary["reason"]) == (2, 1, "end")
    text = moodlens("watch", "--images", images, "--no-plugins", env=env)
    assert text.returncode == 0 and "1 unreadable image skipped" in text.stderr


LIBRARY_USER = """
import itertools, signal, sys, time
import numpy as np
from moodlens import MoodStream
from mlcli_jsonl import JsonlPlugin

signal.signal(signal.SIGTERM, signal.default_int_handler)  # as docs/writing-plugins.md shows
frames = ((np.zeros((48, 64), np.uint8), i / 10) for i in itertools.count())
try:
    with MoodStream(frames, plugins=[JsonlPlugin(sys.argv[1])]) as stream:
        for reading in stream:
            time.sleep(0.01)
except KeyboardInterrupt:
    sys.exit(130)
"""


def test_a_library_user_stops_a_stream_cleanly_on_sigterm_as_documented(site, tmp_path):
    log, script = tmp_path / "events.jsonl", tmp_path / "app.py"
    script.write_text(LIBRARY_USER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_with_path(site),
    )
    deadline = time.monotonic() + 60
    while sum(e["kind"] == "reading" for e in read_jsonl(log)) < 5:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the stream never got going"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    events = read_jsonl(log)
    assert events[-1]["kind"] == "stopped" and events[-1]["reason"] == "interrupted"
    assert events[-1]["frames"] == sum(e["kind"] == "reading" for e in events)


def test_watch_show_draws_each_reading_over_its_own_frame(clip, monkeypatch, capsys):
    """In-process (the window is faked): with the pipeline, the stream has read one frame
    beyond each reading, and the preview must still draw the frame the reading is of."""
    import numpy as np
    from moodlens import _cli_stream
    from moodlens._cli import main
    from moodlens._sources import VideoSource

    shown = []

    class FakePreview:
        def show(self, image, reading):
            shown.append((image.copy(), reading.frame_index, len(reading.faces)))
            return True

        def close(self):
            pass

    monkeypatch.setattr(_cli_stream, "_Preview", FakePreview)
    assert main(["watch", "--video", str(clip), "--show", "--no-plugins"]) == 0
    with VideoSource(clip) as source:
        frames = [frame.image for frame in source]
    assert [index for _, index, _ in shown] == list(range(40))
    assert all(np.array_equal(image, frames[index]) for image, index, _ in shown)
    assert sum(faces for _, _, faces in shown) >= 35
    capsys.readouterr()
