"""The moodlens CLI: detect with human and JSON output, --version, exit codes 0/1/2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from moodlens import __version__
from moodlens._cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "moodlens", *args], capture_output=True, text=True, timeout=120
    )


def test_detect_prints_one_happy_face(sample_path):
    out = run_cli("detect", str(sample_path))
    assert out.returncode == 0, out.stderr
    assert "1 face" in out.stdout and "happy" in out.stdout


def test_detect_json(sample_path, capsys):
    assert main(["detect", "--json", str(sample_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["image"] == str(sample_path)
    assert [f["emotion"] for f in data["faces"]] == ["happy"]


def test_version():
    out = run_cli("--version")
    assert out.returncode == 0 and __version__ in out.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["detect", "missing.jpg"], 1, "does not exist"),
        (["detect", "--model", "missing.onnx", "x.jpg"], 1, "does not exist"),
        (["detect"], 2, "required"),
        (["frobnicate"], 2, "invalid choice"),
        ([], 2, ""),
    ],
)
def test_exit_codes(args, code, message, capsys):
    try:
        got = main(args)
    except SystemExit as exc:
        got = exc.code
    assert got == code
    assert message in capsys.readouterr().err


def test_non_image_file_is_exit_1(tmp_path, capsys):
    bad = tmp_path / "x.png"
    bad.write_text("hello")
    assert main(["detect", str(bad)]) == 1
    assert "not an image" in capsys.readouterr().err
