"""The ONNX emotion model: loads a self-describing ``.onnx`` file and classifies face crops.

The file's ``metadata_props`` say everything the SDK needs (see ``METADATA_KEYS``);
the exporter writes them. Nothing about the model is hard-coded here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import ModelError, OptionsError
from ._types import EMOTIONS, Emotion

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "emotion_default.onnx"
#: Crops sent to ONNX Runtime per call, so memory does not grow with N: 5000 crops in one
#: call took +4 GB of peak memory (activations). Per-crop time was lowest at 16-32 crops
#: per call, and no better from 64 to 256.
CHUNK_SIZE = 32
#: Metadata every model must carry, and what each holds (JSON-encoded values).
METADATA_KEYS: Mapping[str, str] = {
    "moodlens.labels": 'class names in output order, e.g. ["angry", ..., "neutral"]',
    "moodlens.input_size": "[height, width] of a face crop",
    "moodlens.normalization": '{"scale": s, "mean": m, "std": d}: x = (pixel * s - m) / d',
    "moodlens.crop_margin": "fraction of the box added on each side before resizing",
    "moodlens.output": '"probabilities" or "logits"',
}


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What a model file says about itself.

    Attributes:
        labels: the Emotion of each output column, in the model's order.
        input_size: (height, width) of the face crops it takes.
        scale, mean, std: normalisation, x = (pixel * scale - mean) / std.
        crop_margin: fraction of the face box to add on each side before resizing.
        outputs_logits: whether the output needs a softmax.
        metadata: every metadata entry as stored (version, accuracy, data...).
    """

    labels: tuple[Emotion, ...]
    input_size: tuple[int, int]
    scale: float
    mean: float
    std: float
    crop_margin: float
    outputs_logits: bool
    metadata: Mapping[str, str]

    @property
    def version(self) -> str:
        return self.metadata.get("moodlens.version", "unknown")

    @property
    def accuracy(self) -> float | None:
        value = self.metadata.get("moodlens.publictest_accuracy")
        return float(value) if value else None


#: Bundled models by name; ``None`` means ``"default"``. An ``-int8`` suffix names the
#: statically quantised copy shipped beside a float model.
BUNDLED_MODELS: Mapping[str, str] = {
    "default": DEFAULT_MODEL,
    "default-int8": "emotion_default.int8.onnx",
    "fast": "emotion_fast.onnx",
    "accurate": "emotion_accurate.onnx",
}


def _bundled(file: str) -> Path:
    return Path(str(resources.files("moodlens.models").joinpath(file)))


def bundled_models() -> dict[str, Path]:
    """The bundled models this installation ships, by name (``default``, ``fast``, ...)."""
    found = {name: _bundled(file) for name, file in BUNDLED_MODELS.items()}
    return {name: path for name, path in found.items() if path.is_file()}


def default_model_path() -> Path:
    """The model shipped inside the package (found with importlib.resources)."""
    return _bundled(DEFAULT_MODEL)


def resolve_model(model: str | Path | None) -> Path:
    """The ``.onnx`` file a ``model=`` argument names.

    None and ``"default"`` are the bundled default model; ``"fast"``, ``"accurate"``
    and the ``-int8`` copies are other bundled models; anything else is a file path.

    Raises:
        ModelError: neither a bundled model's name nor an existing file.
    """
    if model is None:
        return default_model_path()
    if isinstance(model, str) and model in BUNDLED_MODELS:
        path = _bundled(BUNDLED_MODELS[model])
        if not path.is_file():
            raise ModelError(
                f"the bundled model {model!r} is not part of this moodlens installation; "
                f"shipped here: {', '.join(bundled_models()) or 'none'}."
            )
        return path
    path = Path(model)
    if not path.is_file():
        raise ModelError(
            f"model {str(model)!r} is neither a bundled model ("
            f"{', '.join(bundled_models())}) nor an existing file; pass one of those names, "
            "the path of an .onnx file exported by moodlens-export, or None for the default."
        )
    return path


def _checked_threads(threads: object) -> int | None:
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise OptionsError(
            f"threads must be a positive integer or None (ONNX Runtime's choice), got "
            f"{threads!r} ({type(threads).__name__}); for example threads=2."
        )
    return int(threads)


def _parse_metadata(meta: Mapping[str, str], where: str) -> ModelInfo:
    missing = [k for k in METADATA_KEYS if k not in meta]
    if missing:
        needed = "; ".join(f"{k}: {METADATA_KEYS[k]}" for k in missing)
        raise ModelError(
            f"{where} is not a moodlens model: its metadata lacks {needed}. "
            "Export it with moodlens-export, which writes these entries."
        )
    try:
        labels = tuple(Emotion.parse(name) for name in json.loads(meta["moodlens.labels"]))
        height, width = (int(v) for v in json.loads(meta["moodlens.input_size"]))
        norm = json.loads(meta["moodlens.normalization"])
        scale, mean, std = float(norm["scale"]), float(norm["mean"]), float(norm["std"])
        margin = float(json.loads(meta["moodlens.crop_margin"]))
        output = json.loads(meta["moodlens.output"])
    except (ValueError, TypeError, KeyError) as exc:
        raise ModelError(
            f"{where}: malformed moodlens metadata ({exc}); expected {dict(METADATA_KEYS)}"
        ) from None
    if sorted(labels) != sorted(EMOTIONS):
        raise ModelError(
            f"{where}: labels {[e.value for e in labels]} must be the seven emotions "
            f"{[e.value for e in EMOTIONS]}, each once."
        )
    if height <= 0 or width <= 0 or std <= 0 or not 0 <= margin < 1:
        raise ModelError(
            f"{where}: input size {height}x{width}, std {std} and crop margin "
            f"{margin} must be positive (margin in [0, 1))."
        )
    if output not in ("probabilities", "logits"):
        raise ModelError(
            f"{where}: moodlens.output is {output!r}; expected probabilities or logits."
        )
    return ModelInfo(
        labels, (height, width), scale, mean, std, margin, output == "logits", dict(meta)
    )


class EmotionModel:
    """An ONNX Runtime session over a moodlens model; thread-safe ``run``.

    ``run`` takes no lock: ``InferenceSession.run`` is thread-safe and everything else
    in a call is local, so threads sharing one model run in parallel (with ``threads=1``
    sessions, 2 threads on 2 cores: benchmarks/bench_threads.py).

    Args:
        path: the ``.onnx`` file; None for the bundled model.
        providers: ONNX Runtime execution providers (default: CPU); one name or a list.
        threads: intra-op threads (default: ONNX Runtime's choice).

    Raises:
        ModelError: the file is missing, not ONNX, lacks metadata, or has the wrong shapes.
        OptionsError: ``threads`` is not a positive integer.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        providers: Sequence[Any] | None = None,
        threads: int | None = None,
    ) -> None:
        import onnxruntime as ort

        threads = _checked_threads(threads)
        self.path = resolve_model(path)
        if isinstance(providers, str):
            providers = [providers]
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                str(self.path),
                sess_options=options,
                providers=list(providers or ["CPUExecutionProvider"]),
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelError(
                f"{self.path} is not a model ONNX Runtime can load ({exc}); pass an .onnx file "
                f"exported by moodlens-export or a bundled model name "
                f"({', '.join(bundled_models())})."
            ) from exc
        meta = self._session.get_modelmeta().custom_metadata_map
        self.info = _parse_metadata(meta, str(self.path))
        self._check_shapes()
        self._input = self._session.get_inputs()[0].name
        # Column i of the model's output is Emotion order[i]; reorder to Emotion's own order.
        self._order = np.array([self.info.labels.index(e) for e in EMOTIONS])
        batch = self._session.get_inputs()[0].shape[0]
        self._fixed_batch = isinstance(batch, int) and batch > 0  # e.g. an export with batch 1
        self._chunk = batch if self._fixed_batch else CHUNK_SIZE

    def _check_shapes(self) -> None:
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        h, w = self.info.input_size
        if len(inputs) != 1 or len(outputs) < 1:
            raise ModelError(
                f"{self.path}: expected one input and one output, "
                f"got {len(inputs)} and {len(outputs)}."
            )
        shape = inputs[0].shape
        fixed = [d if isinstance(d, int) else None for d in shape]
        if len(shape) != 4 or fixed[1:] != [h, w, 1]:
            raise ModelError(
                f"{self.path}: input shape {shape}; expected [batch, {h}, {w}, 1] "
                "(NHWC gray) as its metadata says."
            )
        out = outputs[0].shape
        if len(out) != 2 or (isinstance(out[1], int) and out[1] != len(EMOTIONS)):
            raise ModelError(f"{self.path}: output shape {out}; expected [batch, {len(EMOTIONS)}].")

    def preprocess(self, crops: np.ndarray) -> np.ndarray:
        """(N, H, W) uint8 gray crops at the input size -> normalised (N, H, W, 1) float32."""
        x = crops.astype(np.float32) * self.info.scale
        return ((x - self.info.mean) / self.info.std)[..., None]

    @property
    def chunk_size(self) -> int:
        """Crops per ONNX Runtime call (the model's fixed batch size, if it has one)."""
        return self._chunk

    def run(self, crops: np.ndarray) -> np.ndarray:
        """Scores for (N, H, W) uint8 crops at the input size: (N, 7) float32 in Emotion order.

        Any N is sent in chunks of ``chunk_size``, so memory does not grow with N.
        """
        out = np.empty((crops.shape[0], len(EMOTIONS)), dtype=np.float32)
        for start in range(0, crops.shape[0], self._chunk):
            stop = start + self._chunk
            out[start:stop] = self._run_chunk(crops[start:stop])
        return out

    def _run_chunk(self, crops: np.ndarray) -> np.ndarray:
        if self._fixed_batch and crops.shape[0] < self._chunk:
            pad = np.zeros((self._chunk - crops.shape[0], *crops.shape[1:]), crops.dtype)
            return self._run_chunk(np.concatenate([crops, pad]))[: crops.shape[0]]
        out = self._session.run(None, {self._input: self.preprocess(crops)})[0]
        out = np.asarray(out, dtype=np.float32)
        if self.info.outputs_logits:
            out = out - out.max(axis=1, keepdims=True)
            np.exp(out, out=out)
        out /= out.sum(axis=1, keepdims=True)
        return np.ascontiguousarray(out[:, self._order])
