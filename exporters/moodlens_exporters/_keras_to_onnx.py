"""Keras run folder -> self-describing ONNX model (tf2onnx), with a parity check."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

OPSET = 17  # tf2onnx 1.17 converts Keras 3 models at 17; 19+ fails.
LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


class ExportError(RuntimeError):
    """The export failed a check; the message says which and by how much."""


@dataclass(frozen=True)
class ParityResult:
    """Keras vs ONNX Runtime on the same inputs."""

    faces: int
    max_abs_diff: float
    argmax_agreement: float

    def check(self, tolerance: float) -> None:
        if self.max_abs_diff > tolerance or self.argmax_agreement < 1.0:
            raise ExportError(
                f"parity check failed on {self.faces} faces: max |keras - onnx| = "
                f"{self.max_abs_diff:.3g} (tolerance {tolerance:g}), argmax agreement "
                f"{self.argmax_agreement:.4%} (must be 100%)."
            )


def load_float32(path: Path):
    """Loads a Keras model and rebuilds it with every layer in float32.

    Models trained under ``mixed_bfloat16`` would otherwise export bf16 ops that
    ONNX Runtime on CPU refuses.
    """
    import keras

    trained = keras.models.load_model(path, compile=False)
    config = trained.get_config()
    for layer in config["layers"]:
        layer["config"]["dtype"] = "float32"
    # Everything built for export from here on (this model, its head) is float32.
    keras.mixed_precision.set_global_policy("float32")
    model = keras.Model.from_config(config)
    model.set_weights(trained.get_weights())
    return model


def with_head(base, flip_tta: bool, temperature: float = 1.0):
    """Appends softmax(logits / temperature) and, with ``flip_tta``, averages the face
    with its mirror image."""
    import keras

    def head(logits, name: str):
        if temperature != 1.0:
            logits = keras.layers.Rescaling(1.0 / temperature, name=f"{name}_temperature")(logits)
        return keras.layers.Softmax(name=name)(logits)

    inputs = keras.Input(base.input_shape[1:], name="input")
    probs = head(base(inputs), "probs")
    if flip_tta:
        mirrored = keras.layers.Lambda(lambda t: t[:, :, ::-1, :], name="mirror")(inputs)
        probs_m = head(base(mirrored), "probs_mirror")
        probs = keras.layers.Average(name="scores")([probs, probs_m])
    return keras.Model(inputs, probs, name="moodlens_emotion")


def convert(model, out: Path, metadata: dict[str, str]) -> Path:
    """Converts a Keras model to ONNX at ``out`` with ``metadata`` in metadata_props."""
    import onnx
    import tensorflow as tf
    import tf2onnx

    h, w, c = model.input_shape[1:]
    spec = [tf.TensorSpec((None, h, w, c), tf.float32, name="input")]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=OPSET)
    onnx.helper.set_model_props(proto, metadata)
    proto.doc_string = "moodlens facial-emotion model"
    onnx.checker.check_model(proto)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(out))
    return out


def set_metadata(path: Path, metadata: dict[str, str]) -> None:
    """Replaces an ONNX file's metadata_props; the graph is untouched."""
    import onnx

    proto = onnx.load(str(path))
    onnx.helper.set_model_props(proto, metadata)
    onnx.save(proto, str(path))


def parity(model, onnx_path: Path, inputs: np.ndarray) -> ParityResult:
    """Runs both on the same normalised inputs (N, H, W, 1) float32."""
    import onnxruntime as ort

    expected = model.predict(inputs, batch_size=256, verbose=0)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: inputs})[0]
    diff = float(np.abs(expected - got).max())
    agree = float((expected.argmax(1) == got.argmax(1)).mean())
    return ParityResult(len(inputs), diff, agree)


def model_metadata(
    config: dict,
    state: dict,
    *,
    flip_tta: bool,
    version: str,
    accuracy: float | None,
    name: str = "",
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The metadata the SDK reads (see moodlens._model.METADATA_KEYS) plus provenance."""
    meta = {
        "moodlens.labels": json.dumps(list(LABELS)),
        "moodlens.input_size": json.dumps([48, 48]),
        "moodlens.normalization": json.dumps(
            {"scale": 1 / 255, "mean": config["mean"], "std": config["std"]}
        ),
        "moodlens.crop_margin": json.dumps(config["crop_margin"]),
        "moodlens.output": json.dumps("probabilities"),
        "moodlens.version": version,
        "moodlens.architecture": config["architecture"],
        "moodlens.flip_tta": json.dumps(flip_tta),
        "moodlens.training_data": Path(config["data"]).name,
        "moodlens.training_split": "Training",
        # runs before the Validation split existed chose their epoch on PublicTest
        "moodlens.selection_split": config.get("selection_split", "PublicTest"),
        "moodlens.name": name or version,
        "moodlens.ferplus": config.get("ferplus_mode") or "none",
        "moodlens.training_commit": config.get("commit", "unknown"),
        "moodlens.epochs": str(state.get("epochs_done", "")),
        "moodlens.best_epoch": str(state.get("best_epoch") or ""),
        "moodlens.exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if accuracy is not None:
        meta["moodlens.publictest_accuracy"] = f"{accuracy:.4f}"
    meta.update(extra or {})
    return meta
