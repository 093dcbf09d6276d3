"""The mood-journal example on a generated clip, `moodlens watch` with the plugin, and the
`moodlens journal` CLI with good and bad input."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from moodlens_journal import Journal

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample_bgr) -> Path:
    """3 s at 10 fps: the astronaut's face drifting over a gray background."""
    import cv2

    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    face = cv2.resize(sample_bgr[30:210, 140:310], (120, 128), interpolation=cv2.INTER_AREA)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (320, 240))
    assert writer.isOpened()
    for i in range(30):
        frame = np.full((240, 320, 3), 110, dtype=np.uint8)
        frame[56:184, 10 + 2 * i : 130 + 2 * i] = face
        writer.write(frame)
    writer.release()
    return path


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOODLENS_")}
    return {**env, "MOODLENS_CONFIG": os.devnull, **extra}


def test_example_writes_a_journal_and_prints_a_summary_and_chart(clip, db_url, tmp_path):
    pytest.importorskip("matplotlib")
    chart = tmp_path / "today.png"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples/mood_journal.py"),
            "--video",
            str(clip),
            "--db",
            db_url,
            "--chart",
            str(chart),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(),
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert "this session: 30 frames" in run.stdout
    assert f"chart saved to {chart}" in run.stdout
    assert chart.read_bytes()[:4] == b"\x89PNG"
    with Journal(db_url) as journal:
        (session,) = journal.sessions()
        assert session.source.endswith("clip.mp4") and session.frames == 30
        assert session.stop_reason in ("end", "closed")
        scene = journal.intervals()
        assert 1 <= sum(r.frames for r in scene) <= 30
        assert sum(r.seconds for r in scene) == pytest.approx(3.0, abs=0.6)
        today = journal.daily_summary()
        # The summary printed is the journal's own, with the same dominant mood.
        assert today.dominant is not None
        assert f"mostly {today.dominant.value}" in run.stdout
        assert today.format().splitlines()[1] in run.stdout


def _repeated(clip: Path, target: Path, times: int) -> Path:
    import cv2

    capture = cv2.VideoCapture(str(clip))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (w, h))
    for frame in frames * times:
        writer.write(frame)
    writer.release()
    return target


def test_example_stops_on_sigterm_like_ctrl_c_and_keeps_the_journal(clip, tmp_path):
    """systemd and `docker stop` send SIGTERM: the session row is closed, exit 143."""
    import signal

    db = tmp_path / "j.db"
    # 60 s played at its own pace: it cannot end before the signal.
    long_clip = _repeated(clip, tmp_path / "long.mp4", 20)
    proc = subprocess.Popen(
        [sys.executable, "-u", str(ROOT / "examples/mood_journal.py"), "--video", str(long_clip),
         "--db", str(db), "--no-chart", "--realtime", "--interval", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=tmp_path,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("watching"), line + proc.stderr.read()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    assert "stopped" in out and "Traceback" not in err
    with Journal(db) as journal:
        (session,) = journal.sessions()
        assert session.stopped_at is not None and session.stop_reason is not None
        assert session.frames is not None and session.frames < 600


def test_watch_with_the_mood_journal_plugin(clip, tmp_path):
    db = tmp_path / "watch.db"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "moodlens",
            "watch",
            "--video",
            str(clip),
            "--plugin",
            "mood-journal",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(MOODLENS_JOURNAL_URL=str(db)),
    )
    assert run.returncode == 0, run.stderr
    with Journal(db) as journal:
        (session,) = journal.sessions()
        assert session.frames == 30 and journal.intervals()


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    from moodlens._cli import main

    try:
        code = main(["journal", *args])
    except SystemExit as e:  # argparse usage errors
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_add_summary_entries_export_info(capsys, db_url, tmp_path):
    code, out, _ = _cli(
        capsys,
        "--db",
        db_url,
        "add",
        "--mood",
        "4",
        "--note",
        "long walk",
        "--tag",
        "outdoors",
        "--tag",
        "Friends",
    )
    assert code == 0 and "mood 4 (good) [friends, outdoors]" in out
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    assert (
        _cli(capsys, "--db", db_url, "add", "--mood", "2", "--date", yesterday, "--time", "18:30")[
            0
        ]
        == 0
    )
    code, out, _ = _cli(capsys, "--db", db_url, "summary")
    assert code == 0 and "1 entry, mean mood 4.0 (good)" in out and "streak: 2 days" in out
    code, out, _ = _cli(capsys, "--db", db_url, "summary", "--week", "--json")
    week = json.loads(out)
    assert code == 0 and len(week["days"]) == 7
    chart = tmp_path / "week.png"
    code, out, _ = _cli(capsys, "--db", db_url, "summary", "--week", "--chart", str(chart))
    assert code == 0 and chart.is_file() and "chart saved" in out
    code, out, _ = _cli(capsys, "--db", db_url, "entries", "--from", "-7")
    assert code == 0 and "long walk" in out and "18:30" in out
    target = tmp_path / "moods.csv"
    code, out, _ = _cli(capsys, "--db", db_url, "export", str(target))
    assert code == 0 and "2 entries rows written" in out
    rows = list(csv.DictReader(target.open()))
    assert [r["mood"] for r in rows] == ["2", "4"]
    code, out, _ = _cli(capsys, "--db", db_url, "info")
    assert code == 0 and "schema:       0002" in out and "entries:      2" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "--mood", "7"], "mood must be a whole number from 1 to 5"),
        (["add", "--mood", "good"], "mood must be a whole number from 1 to 5"),
        (["add", "--mood", "3", "--date", "2024-02-30"], "unknown date '2024-02-30'"),
        (["add", "--mood", "3", "--date", "soon"], "unknown date 'soon'"),
        (["add", "--mood", "3", "--date", "2999-01-01"], "in the future"),
        (["add", "--mood", "3", "--time", "25:00"], "unknown time"),
        (["add", "--mood", "3", "--tag", " "], "tag ' ' is empty"),
        (["add", "--mood", "3", "--note", "a\x00b"], "NUL character"),
        (["summary", "--date", "13/05/2024"], "use YYYY-MM-DD"),
        (["summary", "--chart", "out.txt"], ".png, .ps, .raw"),
        (["summary", "--chart", "chart"], "has no suffix; use one of"),
        (["entries", "--from", "today", "--to", "yesterday"], "before --from"),
        (["export", "x.csv", "--from", "yesterday", "--to", "-3"], "before --from"),
        (["entries", "--tag", ""], "tag '' is empty"),
    ],
)
def test_cli_bad_argument_values_are_usage_errors(capsys, tmp_path, args, message):
    """One rule: an invalid argument value exits 2 with the usage line; nothing is stored."""
    if "--chart" in args:
        pytest.importorskip("matplotlib")
    db = tmp_path / "j.db"
    with Journal(db) as journal:
        journal.add_entry(5, "before")
    got, out, err = _cli(capsys, "--db", str(db), *args)
    assert got == 2 and message in err and err.startswith("usage: moodlens journal"), err
    assert "Traceback" not in err and not out
    with Journal(db) as journal:
        assert [e.note for e in journal.entries()] == ["before"]


@pytest.mark.parametrize(
    "args",
    [
        ["add", "--mood", "3", "--date", "yesterday"],
        ["entries", "--from", "yesterday", "--to", "today"],
    ],
)
def test_cli_good_dates_are_accepted(capsys, tmp_path, args):
    assert _cli(capsys, "--db", str(tmp_path / "j.db"), "add", "--mood", "4")[0] == 0
    code, _, err = _cli(capsys, "--db", str(tmp_path / "j.db"), *args)
    assert code == 0, err


def test_cli_bad_database_url_is_a_usage_error(capsys):
    code, _, err = _cli(capsys, "--db", "postgresql://x@host:notaport/db", "info")
    assert code == 2 and "argument --db" in err and "is not a database URL" in err


def test_cli_chart_formats_other_than_png_work(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    db = tmp_path / "j.db"
    assert _cli(capsys, "--db", str(db), "add", "--mood", "4")[0] == 0
    for name in ("day.svg", "day.PDF"):
        code, out, err = _cli(capsys, "--db", str(db), "summary", "--chart", str(tmp_path / name))
        assert code == 0 and (tmp_path / name).stat().st_size > 1000, err


def test_cli_chart_into_a_missing_folder_is_a_failure_not_a_traceback(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    db = tmp_path / "j.db"
    assert _cli(capsys, "--db", str(db), "add", "--mood", "4")[0] == 0
    chart = tmp_path / "no" / "such" / "day.png"
    code, _, err = _cli(capsys, "--db", str(db), "summary", "--chart", str(chart))
    assert code == 1 and "cannot save the chart" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "args", [["info"], ["summary"], ["summary", "--week"], ["entries"], ["export", "out.csv"]]
)
def test_cli_reading_a_journal_that_does_not_exist_creates_nothing(capsys, tmp_path, args):
    db = tmp_path / "nonexistent" / "dir" / "j.db"
    args = [str(tmp_path / a) if a.endswith(".csv") else a for a in args]  # never the cwd
    code, out, err = _cli(capsys, "--db", str(db), *args)
    assert code == 1 and f"there is no journal at {db}" in err and "journal add" in err
    assert not (tmp_path / "nonexistent").exists() and not (tmp_path / "out.csv").exists()
    # Writing creates it.
    assert _cli(capsys, "--db", str(db), "add", "--mood", "4")[0] == 0
    assert _cli(capsys, "--db", str(db), *args)[0] == 0


def test_cli_reading_an_empty_database_creates_no_tables(capsys, db_url):
    import sqlalchemy as sa

    code, _, err = _cli(capsys, "--db", db_url, "info")
    assert code == 1 and ("there is no journal" in err or "holds no journal yet" in err), err
    if db_url.startswith("postgresql"):
        engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as conn:
            assert sa.inspect(conn).get_table_names() == []
        engine.dispose()
    else:
        assert not Path(db_url.removeprefix("sqlite:///")).exists()


def test_cli_help_gives_every_default_and_version(capsys):
    from moodlens_journal._cli import build_parser

    parser = build_parser()
    parsers = [parser]
    for action in parser._actions:
        if isinstance(action, __import__("argparse")._SubParsersAction):
            parsers += list(action.choices.values())
    options = 0
    for p in parsers:
        for action in p._actions:
            if not action.option_strings or action.dest in ("help", "version"):
                continue
            options += 1
            text = action.help or ""
            assert "default" in text or action.required, (p.prog, action.option_strings, text)
    assert options >= 15
    code, out, _ = _cli(capsys, "--version")
    assert code == 0 and out.startswith("moodlens journal ") and out.split()[-1][0].isdigit()


def test_cli_corrupt_file_is_left_untouched(capsys, tmp_path):
    db = tmp_path / "journal.db"
    db.write_bytes(b"these are my notes, not a database" * 100)
    code, _, err = _cli(capsys, "--db", str(db), "summary")
    assert code == 1 and "not an SQLite database" in err and "mv " in err
    assert db.read_bytes() == b"these are my notes, not a database" * 100


def test_cli_damaged_database_is_reported(capsys, tmp_path):
    db = tmp_path / "journal.db"
    with Journal(db) as journal:
        journal.add_entry(3)
    data = bytearray(db.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # overwrite the schema page after the header
    db.write_bytes(bytes(data))
    for wal in db.parent.glob("journal.db-*"):
        wal.unlink()
    before = db.read_bytes()
    code, _, err = _cli(capsys, "--db", str(db), "summary")
    assert code == 1 and ("damaged" in err or "not an SQLite" in err), err
    assert db.read_bytes() == before


def test_cli_read_only_journal_reads_but_refuses_to_write(capsys, tmp_path):
    db = tmp_path / "journal.db"
    with Journal(db) as journal:
        journal.add_entry(4, "kept", at=datetime.now().astimezone())
    db.chmod(0o444)
    try:
        code, out, _ = _cli(capsys, "--db", str(db), "summary")
        assert code == 0 and "kept" in out
        code, _, err = _cli(capsys, "--db", str(db), "add", "--mood", "1")
        assert code == 1 and "read-only" in err and "chmod u+w" in err
    finally:
        db.chmod(0o644)
    with Journal(db) as journal:
        assert [e.note for e in journal.entries()] == ["kept"]


def test_cli_unreachable_server(capsys):
    pytest.importorskip("psycopg")
    code, _, err = _cli(
        capsys, "--db", "postgresql://x@127.0.0.1:1/none?connect_timeout=2", "summary"
    )
    assert code == 1 and "opening the journal failed" in err and "Connection refused" in err


def test_cli_reads_the_journal_the_plugin_is_configured_to_write(capsys, tmp_path, monkeypatch):
    configured, other = tmp_path / "configured.db", tmp_path / "other.db"
    config = tmp_path / "config.toml"
    config.write_text(f'[plugins.mood-journal]\nurl = "{configured}"\n')
    monkeypatch.setenv("MOODLENS_CONFIG", str(config))
    monkeypatch.delenv("MOODLENS_JOURNAL_URL", raising=False)
    assert _cli(capsys, "add", "--mood", "4", "--note", "configured")[0] == 0
    assert _cli(capsys, "--db", str(other), "add", "--mood", "2", "--note", "other")[0] == 0
    code, out, _ = _cli(capsys, "info")
    assert code == 0 and f"journal:      {configured}" in out
    with Journal(configured) as journal:
        assert [e.note for e in journal.entries()] == ["configured"]
    monkeypatch.setenv("MOODLENS_JOURNAL_URL", str(other))  # the environment wins over the file
    code, out, _ = _cli(capsys, "info")
    assert code == 0 and f"journal:      {other}" in out


def test_cli_bad_url_in_the_config_file_names_the_file(capsys, tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('[plugins.mood-journal]\nurl = "postgresql://x@h:port/db"\n')
    monkeypatch.delenv("MOODLENS_JOURNAL_URL", raising=False)
    code, _, err = _cli(capsys, "--config", str(config), "info")
    assert code == 1 and str(config) in err and "is not a database URL" in err
