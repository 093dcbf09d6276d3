"""moodlens-train, moodlens-evaluate, moodlens-export: a clear message and the right exit code.

0 success, 1 a failure while running (no traceback), 2 a usage error (with the usage
line). A core install (no TensorFlow) is simulated by blocking the import. --version:
tests/sdk/test_cli.py, through the registered console scripts.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

TRAIN = "from moodlens_training._cli import train_main as main"
EVALUATE = "from moodlens_training._cli import evaluate_main as main"
EXPORT = "from moodlens_exporters._cli import main"


def run(entry: str, argv: list[str], *, block: tuple[str, ...] = (), timeout: float = 120):
    """Runs a command line in a fresh interpreter, with ``block`` made unimportable."""
    code = (
        "import sys\n"
        + "".join(f"sys.modules[{name!r}] = None\n" for name in block)
        + f"{entry}\nsys.exit(main({argv!r}))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def run_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "runs" / "v1"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"architecture": "vgg"}))
    (folder / "state.json").write_text(json.dumps({"epochs_done": 1}))
    return folder


@pytest.mark.parametrize(
    ("entry", "argv"),
    [
        (TRAIN, ["--data", "fer2013.csv", "--out", "runs/x"]),
        (EXPORT, ["RUN", "--out", "model.onnx"]),
    ],
)
def test_a_core_install_is_told_the_pip_command(entry, argv, run_folder):
    argv = [str(run_folder) if a == "RUN" else a for a in argv]
    out = run(entry, argv, block=("tensorflow", "keras", "tf2onnx"))
    assert out.returncode == 1, out.stderr
    assert "pip install 'moodlens[train]'" in out.stderr
    assert "Traceback" not in out.stderr and "ModuleNotFoundError" not in out.stderr


def test_evaluate_with_a_missing_model_fails_before_loading_data(tmp_path):
    data = tmp_path / "fer2013.csv"  # would be read only after the model check
    data.write_text("emotion,pixels,Usage\n")
    start = time.perf_counter()
    out = run(EVALUATE, [str(tmp_path / "missing.onnx"), "--data", str(data)])
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "missing.onnx" in out.stderr and "moodlens-export" in out.stderr
    assert time.perf_counter() - start < 60


def test_evaluate_checks_the_model_before_touching_the_data(tmp_path, monkeypatch, capsys):
    import moodlens_training._cli as cli
    from moodlens import default_model_path

    loads: list[str] = []

    def load(args):
        loads.append(str(args.data))
        raise cli.DataError("stop here")

    monkeypatch.setattr(cli, "_load", load)
    assert cli.evaluate_main([str(tmp_path / "nope.onnx"), "--data", "faces.csv"]) == 1
    assert loads == [] and "nope.onnx" in capsys.readouterr().err
    assert cli.evaluate_main([str(default_model_path()), "--data", "faces.csv"]) == 1
    assert loads == ["faces.csv"]  # a usable model: then the data is read


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "no-such-run", "does not exist"),
        (lambda tmp: tmp, "is not a moodlens-train run folder (no config.json, state.json)"),
        (lambda tmp: (tmp / "f.txt", (tmp / "f.txt").write_text("x"))[0], "is a file"),
    ],
)
def test_export_names_a_wrong_run_folder(tmp_path, capsys, make, message):
    from moodlens_exporters._cli import main

    assert main([str(make(tmp_path)), "--out", str(tmp_path / "m.onnx")]) == 1
    err = capsys.readouterr().err
    assert message in err and "moodlens-train --out" in err and "Errno" not in err


@pytest.mark.parametrize(
    ("entry", "argv", "message"),
    [
        (TRAIN, ["--data", "d", "--out", "o", "--epochs", "0"], "must be 1 or more"),
        (TRAIN, ["--data", "d", "--out", "o", "--lr", "-1"], "must be more than 0"),
        (TRAIN, ["--data", "d", "--out", "o", "--label-smoothing", "1.5"], "up to"),
        (TRAIN, ["--data", "d", "--out", "o", "--batch-size", "many"], "not a whole number"),
        (EXPORT, ["r", "--out", "m.onnx", "--tolerance", "0"], "must be more than 0"),
        (EXPORT, ["r", "--out", "m.onnx", "--calibration-size", "-5"], "must be more than 0"),
        (EXPORT, ["r", "--out", "m.onnx", "--card"], "--card needs --data"),
    ],
)
def test_invalid_values_are_usage_errors(entry, argv, message, capsys):
    namespace: dict = {}
    exec(entry, namespace)
    with pytest.raises(SystemExit) as exc:
        namespace["main"](argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "usage: moodlens-" in err


@pytest.mark.parametrize(
    ("entry", "options"),
    [
        (TRAIN, ["--epochs", "--batch-size", "--lr", "--label-smoothing", "--crop-margin"]),
        (EVALUATE, ["--split"]),
        (EXPORT, ["--checkpoint", "--tolerance", "--calibration-size"]),
    ],
)
def test_help_shows_the_defaults(entry, options, capsys):
    namespace: dict = {}
    exec(entry, namespace)
    with pytest.raises(SystemExit):
        namespace["main"](["--help"])
    listing = capsys.readouterr().out.split("options:", 1)[1]
    entries = {
        e.split()[0].rstrip(","): " ".join(e.split())
        for e in re.split(r"\n  (?=-)", listing)
        if e.strip()
    }
    for option in options:
        assert "(default: " in entries[option], entries[option]


def test_train_keeps_tensorflow_log_noise_off(tmp_path):
    pytest.importorskip("tensorflow", reason="the train extra is not installed")
    missing = tmp_path / "missing.csv"
    out = run(TRAIN, ["--data", str(missing), "--out", str(tmp_path / "run")], timeout=300)
    assert out.returncode == 1 and "no such file" in out.stderr
    assert "oneDNN" not in out.stderr and "absl::InitializeLog" not in out.stderr, out.stderr


def test_importing_the_training_library_sets_nothing():
    code = (
        "import os, moodlens_training, moodlens_exporters\n"
        "print('TF_CPP_MIN_LOG_LEVEL' in os.environ)"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.stdout.strip() == "False", out.stderr
