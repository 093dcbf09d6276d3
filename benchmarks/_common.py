"""What both benchmarks share: skipping, the machine's description, libraries not measured."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform
import shlex
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

#: Emotion-recognition libraries we would compare with but cannot measure here. Each
#: downloads its weights at first use, and a benchmark must never download anything.
NOT_MEASURED: dict[str, str] = {
    "deepface": (
        "its emotion model (facial_expression_model_weights.h5) is downloaded from "
        "GitHub (serengil/deepface_models releases) into ~/.deepface at first use"
    ),
    "hsemotion_onnx": (
        "hsemotion-onnx downloads its .onnx models from GitHub into ~/.hsemotion at first use"
    ),
    "hsemotion": (
        "downloads its PyTorch weights from GitHub into ~/.hsemotion at first use, "
        "and needs torch (not part of this stack)"
    ),
    "rmn": (
        "Residual Masking Network: needs torch (not part of this stack) and downloads "
        "its checkpoint at first use"
    ),
}


def skip(reason: str) -> None:
    """Says why the benchmark cannot run and exits 0: a missing input is not a failure."""
    print(f"SKIPPED: {reason}")
    sys.exit(0)


def not_measured() -> list[dict[str, Any]]:
    """One row per library we cannot measure, with whether it is installed at all."""
    return [
        {"library": name, "installed": importlib.util.find_spec(name) is not None, "why": why}
        for name, why in NOT_MEASURED.items()
    ]


def print_not_measured() -> None:
    print("\nNot measured (no weights on this machine; benchmarks never download):")
    for row in not_measured():
        installed = "installed" if row["installed"] else "not installed"
        print(f"- {row['library']} ({installed}): {row['why']}")


def command_line() -> str:
    """The command that produced these numbers, to print next to them."""
    return " ".join(shlex.quote(a) for a in ["python", *sys.argv])


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(threads: int) -> dict[str, Any]:
    """The machine and library versions behind a result."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    dists = [
        "moodlens",
        "onnxruntime",
        "opencv-python-headless",
        "numpy",
        "fer",
        "tensorflow",
        "tensorflow-cpu",
        "keras",
        "tf2onnx",
    ]
    return {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command_line(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "load_average_1m_at_start": round(load[0], 2) if load else None,
        "threads": threads,
        "versions": {d: v for d in dists if (v := _version(d))},
    }


def print_environment(env: dict[str, Any]) -> None:
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    print(f"Command: `{env['command']}`")
    print(
        f"Machine: {env['cpu']}, {env['cpu_count']} logical CPUs, "
        f"load average {env['load_average_1m_at_start']} at start; threads per runtime: "
        f"{env['threads'] or 'each runtime default'}; Python {env['python']}"
    )
    print(f"Versions: {versions}")
    load, cpus = env["load_average_1m_at_start"], env["cpu_count"] or 1
    if load is not None and load > 0.5 * cpus:
        print(
            f"WARNING: the machine was busy (load {load} on {cpus} CPUs); "
            "absolute times are inflated, ratios measured side by side less so."
        )


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_json(path: str | Path, result: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=_jsonable) + "\n")
    print(f"\nWrote {path}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def moodlens_model_summary(info: Any) -> dict[str, Any]:
    """What a moodlens model says about itself that matters when quoting its numbers."""
    meta = info.metadata
    keys = (
        "version",
        "architecture",
        "epochs",
        "flip_tta",
        "quantization",
        "training_split",
        "selection_split",
        "publictest_accuracy",
        "exported_at",
    )
    return {k: meta[f"moodlens.{k}"] for k in keys if f"moodlens.{k}" in meta}
