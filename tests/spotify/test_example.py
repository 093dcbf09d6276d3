"""examples/mood_playlist.py runs, in dry-run, on a clip made from the sample face."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mood_playlist.py"


def run(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_the_example_prints_the_playlist_it_would_build_without_an_account(tmp_path):
    env = {
        **os.environ,
        "MOODLENS_SPOTIFY_DIR": str(tmp_path / "state"),
        "MOODLENS_CONFIG": str(tmp_path / "none.toml"),
        "OMP_NUM_THREADS": "1",
    }
    clip = tmp_path / "clip.mp4"
    made = run("--make-clip", str(clip), env=env)
    assert made.returncode == 0, made.stderr
    out = run(
        "--video", str(clip), "--dry-run", "--strategy", "lift", "--target", "neutral", env=env
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any("scene mood: " in line for line in lines)
    header = next(
        line for line in lines if line.startswith("would build playlist 'moodlens' (private)")
    )
    path = header.split("strategy lift: ")[1].split(";")[0].split(" -> ")
    assert path[-1] == "neutral" and header.endswith("; 0 tracks")  # whatever mood the face shows
    assert any(line.strip().startswith("would search: ") for line in lines)
    assert not (tmp_path / "state").exists()  # dry-run wrote nothing, not even state


def test_the_entry_point_plugin_in_a_real_stream_writes_the_playlist(
    tmp_path, fake, client, settings_kwargs
):
    """MoodStream loads 'spotify-playlist' by name, calls it from its worker thread, writes once."""
    from moodlens import MoodStream

    clip = tmp_path / "clip.mp4"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    assert run("--make-clip", str(clip), env=env).returncode == 0
    plugin_settings = {"spotify-playlist": {**settings_kwargs, "client": client, "seed_from": []}}
    with MoodStream(
        str(clip), plugins=["spotify-playlist"], plugin_settings=plugin_settings, config=False
    ) as stream:
        moods = {r.mood for r in stream}
    writes = [(m, p) for m, p, q, b in fake.api_calls() if m != "GET"]
    assert writes[0] == ("POST", "/v1/me/playlists") and writes[1][0] == "PUT"
    assert len(writes) == 2 and moods - {None}


def test_the_package_surface_is_all_and_imports_no_spotipy():
    import moodlens_spotify

    for name in moodlens_spotify.__all__:
        assert hasattr(moodlens_spotify, name), name
    public = {n for n in dir(moodlens_spotify) if not n.startswith("_")}
    assert public - {"annotations"} <= set(moodlens_spotify.__all__)
    code = "import sys, moodlens, moodlens_spotify; print('spotipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_example_refuses_invalid_values_with_its_usage_line(tmp_path):
    env = {**os.environ, "MOODLENS_SPOTIFY_DIR": str(tmp_path / "state")}
    for args, message in [
        (("--video", "clip.mp4", "--target", "bored"), "unknown emotion 'bored'"),
        (("--video", "clip.mp4", "--size", "0"), "must be from 1 to 100"),
    ]:
        out = run(*args, env=env)
        assert out.returncode == 2 and message in out.stderr and "usage:" in out.stderr


def test_the_example_stops_on_sigterm_like_ctrl_c(tmp_path):
    """systemd and `docker stop` send SIGTERM: the plugin is closed, the plan printed, exit 143."""
    import importlib.util
    import signal

    spec = importlib.util.spec_from_file_location("mood_playlist", EXAMPLE)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    # 60 s played at its own pace: it cannot end before the signal.
    clip = example.make_clip(tmp_path / "long.mp4", seconds=60.0)
    env = {
        **os.environ,
        "MOODLENS_SPOTIFY_DIR": str(tmp_path / "state"),
        "MOODLENS_CONFIG": str(tmp_path / "none.toml"),
        "OMP_NUM_THREADS": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-u", str(EXAMPLE), "--video", str(clip), "--realtime"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("watching"), line + (proc.stderr.read() if proc.stderr else "")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    assert "stopped" in out.splitlines() and "Traceback" not in err
    assert "would build" in out or "no steady mood was found" in out
