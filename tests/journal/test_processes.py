"""Crashes and processes: SIGKILL loses at most the last flush interval; exit and Ctrl-C flush;
two processes write one journal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from moodlens_journal import Journal

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime, timezone
    from moodlens import Emotion, MoodReading, StreamInfo
    from moodlens_journal import Journal, JournalPlugin

    url, mode, flush = sys.argv[1], sys.argv[2], float(sys.argv[3])
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 10**9
    name = sys.argv[5] if len(sys.argv) > 5 else "child"
    scores = {e: (0.7 if e is Emotion.HAPPY else 0.05) for e in Emotion}
    plugin = JournalPlugin(url, interval=1.0, flush_every=flush, faces=False)
    plugin.moodlens_stream_started(StreamInfo(name, datetime.now(timezone.utc), 20.0))
    journal = Journal(url) if mode == "two" else None
    for i in range(count):
        now = datetime.now(timezone.utc)
        plugin.moodlens_reading(MoodReading(i / 20, now, i, (), Emotion.HAPPY, scores))
        print(i, time.monotonic(), flush=True)
        if journal is not None and i % 15 == 0:
            journal.add_entry(3, f"{name} {i}", tags=["shared", name])
        time.sleep(0.02 if mode == "two" else 0.05)
    if mode == "interrupt":
        raise KeyboardInterrupt
    if mode == "two":
        plugin.close()
        journal.close()
    # mode "exit": no close(); the atexit hook must flush.
    """
)


def _spawn(tmp_path: Path, *args: object) -> subprocess.Popen[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(script), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _frames(url: str) -> int:
    with Journal(url) as journal:
        return sum(r.frames for r in journal.intervals())


def test_sigkill_loses_at_most_the_last_flush_interval(db_url, tmp_path):
    flush = 0.5
    child = _spawn(tmp_path, db_url, "kill", flush)
    fed: list[tuple[int, float]] = []
    assert child.stdout is not None
    for line in child.stdout:
        i, t = line.split()
        fed.append((int(i), float(t)))
        if fed[-1][1] - fed[0][1] >= 3.0:
            break
    killed_at = time.monotonic()
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
    stored = _frames(db_url)
    # Everything fed before the last flush interval (plus slack for a loaded machine) is there.
    slack = 1.0
    must = sum(1 for _, t in fed if t <= killed_at - flush - slack)
    assert must > 20
    assert must <= stored <= len(fed) + 1
    with Journal(db_url) as journal:
        (session,) = journal.sessions()
        assert session.stopped_at is None  # it never heard a stop


@pytest.mark.parametrize("mode", ["exit", "interrupt"])
def test_interpreter_exit_and_ctrl_c_flush_what_is_buffered(db_url, tmp_path, mode):
    child = _spawn(tmp_path, db_url, mode, 3600, 25)  # a flush interval longer than the run
    out, err = child.communicate(timeout=60)
    assert child.returncode == (0 if mode == "exit" else 1), err
    assert _frames(db_url) == 25


def test_two_processes_write_one_journal(db_url, tmp_path):
    if db_url.startswith("sqlite"):
        Journal(db_url).close()  # both children then open an existing file
    children = [_spawn(tmp_path, db_url, "two", 0.05, 120, f"p{k}") for k in range(2)]
    results = [c.communicate(timeout=120) for c in children]
    for child, (_, err) in zip(children, results, strict=True):
        assert child.returncode == 0, err
        assert "locked" not in err and "failed" not in err, err
    with Journal(db_url) as journal:
        sessions = journal.sessions()
        assert sorted(s.source for s in sessions) == ["p0", "p1"]
        by_session: dict[int, int] = {}
        for r in journal.intervals():
            by_session[r.session_id] = by_session.get(r.session_id, 0) + r.frames
        assert sorted(by_session.values()) == [120, 120]
        assert len(journal.entries()) == 16
        assert dict(journal.tags()) == {"shared": 16, "p0": 8, "p1": 8}
