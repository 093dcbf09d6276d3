"""Ensembles: members with their own normalisation merged into one averaging graph."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("onnx", reason="the exporters need the train extra")

from ..conftest import tiny_metadata  # noqa: E402


def _member(path, seed: int, mean: float, std: float, **meta):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(seed).normal(0, 0.05, (48 * 48, 7)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["input"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "w"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
        ],
        "member",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 48, 48, 1])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 7])],
        [numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    props = tiny_metadata(
        **{
            "moodlens.output": json.dumps("probabilities"),
            "moodlens.normalization": json.dumps({"scale": 1 / 255, "mean": mean, "std": std}),
            "moodlens.version": f"member-{seed}",
            **meta,
        }
    )
    helper.set_model_props(model, props)
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("weights", [None, [0.25, 0.75], [1.0, 0.0, 2.0]])
def test_ensemble_scores_are_the_weighted_mean_of_its_members(tmp_path, weights):
    from moodlens import EmotionDetector
    from moodlens_exporters._ensemble import merge

    count = 3 if weights and len(weights) == 3 else 2
    params = [(0.5, 0.25), (0.0, 1.0), (0.45, 0.2)][:count]
    members = [_member(tmp_path / f"m{i}.onnx", i, m, s) for i, (m, s) in enumerate(params)]
    out = merge(
        members, tmp_path / "ensemble.onnx", weights=weights, metadata={"moodlens.version": "e1"}
    )
    crops = np.random.default_rng(9).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    parts = []
    for path in members:
        with EmotionDetector(model=path) as d:
            parts.append(d.classify(crops))
    w = np.ones(count) if weights is None else np.asarray(weights, float)
    expected = sum(wi * p for wi, p in zip(w / w.sum(), parts, strict=True))
    with EmotionDetector(model=out) as ensemble:
        got = ensemble.classify(crops)
        meta = ensemble.info.metadata
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert meta["moodlens.version"] == "e1"
    assert [m["version"] for m in json.loads(meta["moodlens.members"])] == [
        f"member-{i}" for i in range(count)
    ]


@pytest.mark.parametrize(
    ("second", "says"),
    [
        ({"moodlens.crop_margin": json.dumps(0.2)}, "crop_margin"),
        ({"moodlens.output": json.dumps("logits")}, "logits"),
    ],
)
def test_members_that_disagree_are_refused(tmp_path, second, says):
    from moodlens_exporters._ensemble import merge
    from moodlens_exporters._keras_to_onnx import ExportError

    a = _member(tmp_path / "a.onnx", 0, 0.5, 0.25)
    b = _member(tmp_path / "b.onnx", 1, 0.5, 0.25, **second)
    with pytest.raises(ExportError, match=says):
        merge([a, b], tmp_path / "e.onnx")
    with pytest.raises(ExportError, match="at least two"):
        merge([a], tmp_path / "e.onnx")
    with pytest.raises(ExportError, match="weights"):
        merge([a, a], tmp_path / "e.onnx", weights=[1.0, -1.0])


def test_cli_merges_and_refuses_mismatched_weights(tmp_path, capsys):
    from moodlens import EmotionDetector
    from moodlens_exporters._ensemble_cli import main

    a = _member(tmp_path / "a.onnx", 0, 0.5, 0.25)
    b = _member(tmp_path / "b.onnx", 1, 0.0, 1.0)
    out = tmp_path / "e.onnx"
    assert main([str(a), str(b), "--out", str(out), "--weights", "1,3"]) == 0
    with EmotionDetector(model=out) as d:
        assert d.info.version == "ensemble"
    with pytest.raises(SystemExit) as exit_info:
        main([str(a), str(b), "--out", str(out), "--weights", "1,2,3"])
    assert exit_info.value.code == 2
    assert main([str(a), str(tmp_path / "none.onnx"), "--out", str(out)]) == 1
    assert "no such model" in capsys.readouterr().err
