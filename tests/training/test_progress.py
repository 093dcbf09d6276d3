"""moodlens-evaluate and moodlens-export say what step runs; many faces get a bar on a terminal."""

from __future__ import annotations

import sys

import numpy as np
import pytest


def _csv(path, counts: dict[str, int]):
    rng = np.random.default_rng(0)
    lines = ["emotion,pixels,Usage"]
    for split, n in counts.items():
        for i in range(n):
            pixels = " ".join(map(str, rng.integers(0, 256, 48 * 48)))
            lines.append(f"{i % 7},{pixels},{split}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def faces_csv(tmp_path_factory):
    return _csv(tmp_path_factory.mktemp("faces") / "faces.csv", {"Training": 70, "PublicTest": 600})


@pytest.mark.parametrize("tty", [False, True], ids=["piped", "terminal"])
def test_evaluate_says_each_step_on_stderr_and_keeps_stdout_for_the_report(
    faces_csv, tmp_path, capsys, monkeypatch, tty
):
    pytest.importorskip("tqdm")
    from moodlens import default_model_path
    from moodlens_training._cli import evaluate_main

    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty)
    report = tmp_path / "report"
    args = [str(default_model_path()), "--data", str(faces_csv), "--report", str(report)]
    assert evaluate_main(args) == 0
    out, err = capsys.readouterr()
    steps = [line for line in err.splitlines() if line.startswith("moodlens-evaluate: ")]
    assert [s.split(": ", 1)[1].split(" ")[0] for s in steps] == [
        "checking", "loading", "scoring", "scored", "writing",
    ]  # fmt: skip
    assert "scoring 600 PublicTest faces" in err and str(report) in err
    bar = "600/600" in err  # tqdm's last refresh
    assert bar == tty, err
    assert out.startswith("model ") and "moodlens-evaluate" not in out
    assert (report / "report.json").is_file()


def test_progress_in_chunks_gives_the_same_scores_as_one_call(faces_csv, monkeypatch):
    pytest.importorskip("tqdm")
    from moodlens import default_model_path
    from moodlens_training import load_faces
    from moodlens_training._evaluate import evaluate_model

    faces = load_faces(faces_csv)["PublicTest"]
    plain = evaluate_model(default_model_path(), faces)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    chunked = evaluate_model(default_model_path(), faces, progress="PublicTest")
    assert chunked["confusion"] == plain["confusion"]
    assert chunked["ece"] == pytest.approx(plain["ece"], abs=1e-6)
