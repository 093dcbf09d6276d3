"""Shared fixtures: the sample image, tiny ONNX models built in the test, the shared data."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

# TensorFlow's oneDNN kernels segfault on some AMD EPYC machines (an AVX-512 store; every
# mini_xception run and the tiny training test crashed on 2026-12-07's machine): the tests
# check moodlens' training code, not oneDNN, so they run TensorFlow's own kernels. Set
# before any test imports TensorFlow, and inherited by the CLIs the tests start.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

SHARED_FER = (
    Path(__file__).resolve().parents[1].parent / "shared/data/fer2013/fer2013-train-val.csv.gz"
)
TINY_LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def hear_ctrl_c() -> None:
    """``preexec_fn`` for a CLI that a test stops with SIGINT: a shell without job control
    starts background jobs (``cmd &`` in a script) with SIGINT ignored, a child keeps that,
    and Python then never raises KeyboardInterrupt. A terminal's Ctrl-C reaches the CLI
    with the default handling, as here."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def tiny_metadata(**overrides: str) -> dict[str, str]:
    meta = {
        "moodlens.labels": json.dumps(TINY_LABELS),
        "moodlens.input_size": json.dumps([48, 48]),
        "moodlens.normalization": json.dumps({"scale": 1 / 255, "mean": 0.5, "std": 0.25}),
        "moodlens.crop_margin": json.dumps(0.1),
        "moodlens.output": json.dumps("logits"),
        "moodlens.version": "tiny-test",
    }
    meta.update(overrides)
    return {k: v for k, v in meta.items() if v is not None}


def build_tiny_model(
    path: Path,
    *,
    metadata: dict[str, str] | None = None,
    input_shape: tuple = ("N", 48, 48, 1),
    outputs: int = 7,
    weights: np.ndarray | None = None,
) -> Path:
    """A linear classifier over the flattened crop, built with onnx.helper (no training)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    features = int(np.prod([d for d in input_shape[1:] if isinstance(d, int)]))
    if weights is None:
        weights = np.random.default_rng(0).normal(0, 0.01, (features, outputs)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["input"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "w"], ["logits"]),
        ],
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", outputs])],
        [numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, tiny_metadata() if metadata is None else metadata)
    onnx.save(model, str(path))
    return path


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    pytest.importorskip("onnx")
    return build_tiny_model(tmp_path / "tiny.onnx")


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return Path(str(resources.files("moodlens.samples").joinpath("astronaut.jpg")))


@pytest.fixture(scope="session")
def sample_bgr(sample_path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(sample_path))
    assert image is not None
    return image


@pytest.fixture(scope="session")
def detector():
    from moodlens import EmotionDetector

    with EmotionDetector() as d:
        yield d


@pytest.fixture(scope="session")
def fer_csv() -> Path:
    if not SHARED_FER.is_file():
        pytest.skip(f"FER2013 data not present at {SHARED_FER} (only on the project's machines)")
    return SHARED_FER
