"""Ensembles: members with their own normalisation merged into one averaging graph."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("onnx", reason="the exporters need the train extra")

from ..conftest import tiny_metadata  # noqa: E402


def _member(path, seed: int, mean: float, std: float, w: np.ndarray | None = None, **meta):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if w is None:
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
    with pytest.raises(ExportError, match="one member and no calibration"):
        merge([a], tmp_path / "e.onnx")
    with pytest.raises(ExportError, match="at least one"):
        merge([], tmp_path / "e.onnx")
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


# Synthetic faces: class k is a bright band of rows 6k..6k+6; 30% of the labels are
# wrong on purpose, so a right model is ~70% accurate and its confidence can be off.
_BAND = 6


def _band_faces(n: int, seed: int):
    from moodlens_training import FaceSet

    rng = np.random.default_rng(seed)
    bands = rng.integers(0, 7, n)
    images = rng.integers(0, 30, (n, 48, 48))
    for i, k in enumerate(bands):
        images[i, k * _BAND : (k + 1) * _BAND] += 200
    labels = np.where(rng.random(n) < 0.3, rng.integers(0, 7, n), bands)
    return FaceSet(images.astype(np.uint8), labels.astype(np.int64), np.arange(n))


def _band_member(path, strength: float):
    """Logit k = strength x the mean brightness (0..1) of band k: confidence set by hand."""
    w = np.zeros((48, 48, 7), np.float32)
    for k in range(7):
        w[k * _BAND : (k + 1) * _BAND, :, k] = strength / (_BAND * 48)
    return _member(path, 0, 0.0, 1.0, w=w.reshape(48 * 48, 7))


def _band_csv(tmp_path, training: int = 700, public: int = 120):
    """A fer2013.csv of band faces (Validation is carved from Training by the loader)."""
    faces = {"Training": _band_faces(training, 1), "PublicTest": _band_faces(public, 2)}
    rows = [
        f"{label},{' '.join(map(str, image.ravel()))},{split}"
        for split, f in faces.items()
        for image, label in zip(f.images, f.labels, strict=True)
    ]
    path = tmp_path / "faces.csv"
    path.write_text("emotion,pixels,Usage\n" + "\n".join(rows) + "\n")
    return path


def _classify(model, crops):
    from moodlens import EmotionDetector

    with EmotionDetector(model=model) as d:
        return d.classify(crops), dict(d.info.metadata)


@pytest.mark.parametrize("temperature", [0.5, 2.0])
def test_baked_temperature_is_softmax_of_log_scores_over_t(tmp_path, temperature):
    from moodlens_exporters._calibrate import scores_at
    from moodlens_exporters._ensemble import log_scores, merge

    members = [_member(tmp_path / f"m{i}.onnx", i, 0.5, 0.25) for i in range(2)]
    plain = merge(members, tmp_path / "plain.onnx")
    tempered = merge(members, tmp_path / "t.onnx", temperature=temperature)
    crops = np.random.default_rng(3).integers(0, 256, (6, 48, 48), dtype=np.uint8)
    p, plain_meta = _classify(plain, crops)
    got, meta = _classify(tempered, crops)
    expected = scores_at(temperature, log_scores(p), None)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.abs(got - p).max() > 1e-3  # T really moved the scores
    assert (got.argmax(1) == p.argmax(1)).all()
    assert float(meta["moodlens.temperature"]) == temperature
    assert "moodlens.temperature" not in plain_meta


def test_a_temperature_that_is_not_positive_is_refused(tmp_path):
    from moodlens_exporters._ensemble import merge
    from moodlens_exporters._keras_to_onnx import ExportError

    members = [_member(tmp_path / f"m{i}.onnx", i, 0.5, 0.25) for i in range(2)]
    with pytest.raises(ExportError, match="temperature"):
        merge(members, tmp_path / "e.onnx", temperature=0.0)


@pytest.mark.parametrize(
    ("strength", "confidence"),
    [(10.0, "over"), (1.0, "under")],  # ~70% right: 10 nats of margin is too sure, 1 too shy
)
def test_cli_fits_t_on_the_right_side_of_1_and_lowers_ece(tmp_path, strength, confidence):
    from moodlens_exporters._calibrate import scores_at
    from moodlens_exporters._ensemble import log_scores, merge
    from moodlens_exporters._ensemble_cli import main
    from moodlens_training import expected_calibration_error

    members = [
        _band_member(tmp_path / "a.onnx", strength),
        _band_member(tmp_path / "b.onnx", strength * 1.2),
    ]
    out = tmp_path / "e.onnx"
    args = [*map(str, members), "--out", str(out), "--data", str(_band_csv(tmp_path))]
    assert main(args) == 0
    report = json.loads(out.with_suffix(".export.json").read_text())
    fit = report["calibration"]
    assert (fit["temperature"] > 1.0) if confidence == "over" else (fit["temperature"] < 1.0)
    assert fit["validation_ece_after"] < fit["validation_ece_before"] - 0.05
    assert fit["publictest_ece_after"] < fit["publictest_ece_before"] - 0.05
    assert report["PublicTest"]["ece"] == pytest.approx(fit["publictest_ece_after"])
    assert report["Validation"]["ece"] == pytest.approx(fit["validation_ece_after"])
    assert 0.5 < report["PublicTest"]["accuracy"] < 0.9
    # the shipped graph is the plain average with softmax(log p / T) after it
    crops = _band_faces(8, 5).images
    plain, _ = _classify(merge(members, tmp_path / "plain.onnx"), crops)
    got, meta = _classify(out, crops)
    np.testing.assert_allclose(
        got, scores_at(fit["temperature"], log_scores(plain), None), atol=1e-5
    )
    assert float(meta["moodlens.temperature"]) == fit["temperature"]
    # PublicTest's "before" (recovered from the shipped scores) is the plain model's ECE
    public = _band_faces(120, 2)
    plain_public, _ = _classify(tmp_path / "plain.onnx", public.images)
    before = expected_calibration_error(public.labels, plain_public)
    assert fit["publictest_ece_before"] == pytest.approx(before, abs=1e-4)
    assert meta["moodlens.publictest_accuracy"] == f"{report['PublicTest']['accuracy']:.4f}"


def test_no_calibrate_leaves_the_temperature_out(tmp_path):
    from moodlens_exporters._ensemble import merge
    from moodlens_exporters._ensemble_cli import main

    members = [_band_member(tmp_path / "a.onnx", 10.0), _band_member(tmp_path / "b.onnx", 12.0)]
    out = tmp_path / "e.onnx"
    csv = _band_csv(tmp_path, 140, 20)
    assert main([*map(str, members), "--out", str(out), "--data", str(csv), "--no-calibrate"]) == 0
    report = json.loads(out.with_suffix(".export.json").read_text())
    assert report["calibration"] is None
    assert set(report) >= {"Validation", "PublicTest"}
    crops = _band_faces(8, 5).images
    plain, _ = _classify(merge(members, tmp_path / "plain.onnx"), crops)
    got, meta = _classify(out, crops)
    np.testing.assert_allclose(got, plain, atol=1e-6)
    assert "moodlens.temperature" not in meta


@pytest.mark.parametrize("calibrate", [True, False])
def test_card_reports_publictest_calibration_and_end_to_end(
    tmp_path, monkeypatch, capsys, calibrate
):
    from moodlens_exporters import _cli
    from moodlens_exporters._ensemble_cli import main

    monkeypatch.setattr(_cli, "END_TO_END_FACES", 6)  # the face finder is real: keep it short
    members = [_band_member(tmp_path / "a.onnx", 10.0), _band_member(tmp_path / "b.onnx", 12.0)]
    out = tmp_path / "models" / "accurate.onnx"
    args = [*map(str, members), "--out", str(out), "--data", str(_band_csv(tmp_path, 140, 30))]
    args += ["--card", "--weights", "1,3"] + ([] if calibrate else ["--no-calibrate"])
    assert main(args) == 0
    card = out.with_suffix(".card.md").read_text()
    assert out.with_suffix(".confusion.png").stat().st_size > 0
    report = json.loads(out.with_suffix(".export.json").read_text())
    assert f"**PublicTest accuracy** | **{report['PublicTest']['accuracy']:.2%}**" in card
    assert "## Through `detect()`: end to end (PublicTest)" in card
    assert report["end_to_end"]["alone"]["faces"] == 6
    for text in ("`a.onnx`", "`b.onnx`", "0.250", "0.750", "given with `--weights`"):
        assert text in card
    assert "## Intended use" in card and "## Limitations" in card
    assert "moodlens-ensemble " in card and "--card" in card  # the Reproduce block
    assert ("ECE, 15 bins, PublicTest: before / after" in card) == calibrate
    assert ("temperature (fitted on Validation)" in card) == calibrate


def test_int8_copy_is_calibrated_on_training_and_scored_on_publictest(tmp_path, monkeypatch):
    from moodlens import EmotionDetector
    from moodlens_exporters import _cli
    from moodlens_exporters._ensemble_cli import main

    monkeypatch.setattr(_cli, "END_TO_END_FACES", 4)
    members = [_band_member(tmp_path / "a.onnx", 10.0), _band_member(tmp_path / "b.onnx", 12.0)]
    out = tmp_path / "e.onnx"
    data = _band_csv(tmp_path, 140, 40)
    args = [*map(str, members), "--out", str(out), "--data", str(data), "--card", "--int8"]
    assert main([*args, "--calibration-size", "64"]) == 0
    int8_path = out.with_suffix(".int8.onnx")
    report = json.loads(out.with_suffix(".export.json").read_text())
    assert report["int8"]["calibration_faces"] == 64
    assert report["int8"]["publictest_accuracy"] == pytest.approx(
        report["PublicTest"]["accuracy"], abs=0.05
    )
    assert f"copy measured {report['int8']['publictest_accuracy']:.2%}" in (
        out.with_suffix(".card.md").read_text()
    )
    faces = _band_faces(40, 3)
    with EmotionDetector(model=out) as fp32, EmotionDetector(model=int8_path) as int8:
        assert int8.info.metadata["moodlens.quantization"] == "int8-qdq-per-channel"
        assert float(int8.info.metadata["moodlens.temperature"]) == pytest.approx(
            report["calibration"]["temperature"]
        )
        a, b = fp32.classify(faces.images), int8.classify(faces.images)
    assert np.mean(a.argmax(1) == b.argmax(1)) >= 0.9 and np.abs(a - b).max() < 0.1


def test_merged_model_records_where_its_members_came_from(tmp_path):
    import onnx
    from moodlens_exporters._ensemble import merge

    data = {"moodlens.training_data": "fer.csv", "moodlens.training_split": "Training"}
    a = _member(tmp_path / "a.onnx", 0, 0.5, 0.25, **data, **{"moodlens.training_commit": "aaa"})
    b = _member(tmp_path / "b.onnx", 1, 0.0, 1.0, **data, **{"moodlens.training_commit": "bbb"})
    out = merge([a, b], tmp_path / "e.onnx")
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["moodlens.training_data"] == "fer.csv"
    assert meta["moodlens.training_split"] == "Training"
    assert meta["moodlens.training_commit"] == "aaa, bbb"
    assert meta["moodlens.exported_at"].startswith("20")


@pytest.mark.parametrize("option", ["--card", "--int8"])
def test_card_and_int8_need_data(tmp_path, option):
    from moodlens_exporters._ensemble_cli import main

    a = _member(tmp_path / "a.onnx", 0, 0.5, 0.25)
    b = _member(tmp_path / "b.onnx", 1, 0.0, 1.0)
    with pytest.raises(SystemExit) as exit_info:
        main([str(a), str(b), "--out", str(tmp_path / "e.onnx"), option])
    assert exit_info.value.code == 2


def test_vector_scaling_recovers_a_known_scale_and_bias():
    from moodlens_exporters import fit_vector_scaling, vector_scores

    rng = np.random.default_rng(4)
    logits = rng.normal(0, 2, (6000, 7))
    scale = np.array([0.5, 1.0, 1.5, 0.8, 1.2, 1.0, 0.7])
    bias = np.array([0.0, -1.0, 0.5, 0.3, -0.2, 0.0, 0.4])
    truth = vector_scores(scale, bias, logits)
    labels = (truth.cumsum(axis=1) > rng.random((6000, 1))).argmax(axis=1)
    got_scale, got_bias = fit_vector_scaling(logits, labels)
    np.testing.assert_allclose(got_scale, scale, atol=0.12)
    # softmax ignores a common shift of the biases
    np.testing.assert_allclose(got_bias - got_bias.mean(), bias - bias.mean(), atol=0.15)


def test_baked_vector_scaling_is_softmax_of_scaled_log_scores_plus_bias(tmp_path):
    from moodlens_exporters import vector_scores
    from moodlens_exporters._ensemble import log_scores, merge
    from moodlens_exporters._keras_to_onnx import ExportError

    members = [_member(tmp_path / f"m{i}.onnx", i, 0.5, 0.25) for i in range(2)]
    scale = np.array([1.5, 0.5, 1.0, 2.0, 1.0, 0.8, 1.2])
    bias = np.array([0.0, 2.0, -1.0, 0.0, 0.5, 0.0, -0.5])
    plain = merge(members, tmp_path / "plain.onnx")
    scaled = merge(members, tmp_path / "v.onnx", vector=(scale, bias))
    single = merge(members[:1], tmp_path / "one.onnx", vector=(scale, bias))
    crops = np.random.default_rng(3).integers(0, 256, (6, 48, 48), dtype=np.uint8)
    p, _ = _classify(plain, crops)
    got, meta = _classify(scaled, crops)
    np.testing.assert_allclose(got, vector_scores(scale, bias, log_scores(p)), atol=1e-5)
    first, _ = _classify(members[0], crops)
    alone, alone_meta = _classify(single, crops)
    np.testing.assert_allclose(alone, vector_scores(scale, bias, log_scores(first)), atol=1e-5)
    assert not alone_meta["moodlens.architecture"].startswith("ensemble(")
    recorded = json.loads(meta["moodlens.calibration"])
    assert recorded["method"] == "vector"
    np.testing.assert_allclose(recorded["bias"], bias)
    with pytest.raises(ExportError, match="not both"):
        merge(members, tmp_path / "x.onnx", temperature=1.0, vector=(scale, bias))
    with pytest.raises(ExportError, match="7 finite"):
        merge(members, tmp_path / "x.onnx", vector=(scale[:3], bias))


@pytest.mark.parametrize("count", [1, 2])
def test_cli_vector_calibration_lowers_ece_and_says_so_on_the_card(tmp_path, monkeypatch, count):
    from moodlens_exporters import _cli
    from moodlens_exporters._ensemble_cli import main

    monkeypatch.setattr(_cli, "END_TO_END_FACES", 6)
    members = [_band_member(tmp_path / "a.onnx", 10.0), _band_member(tmp_path / "b.onnx", 12.0)]
    out = tmp_path / "v.onnx"
    args = [*map(str, members[:count]), "--out", str(out), "--data", str(_band_csv(tmp_path))]
    assert main([*args, "--calibrate", "vector", "--card"]) == 0
    fit = json.loads(out.with_suffix(".export.json").read_text())["calibration"]
    assert fit["method"] == "vector" and len(fit["scale"]) == 7
    assert fit["validation_ece_after"] < fit["validation_ece_before"] - 0.05
    assert fit["publictest_ece_after"] < fit["publictest_ece_before"] - 0.05
    card = out.with_suffix(".card.md").read_text()
    assert "vector scaling" in card
    assert ("one model, calibrated" in card) == (count == 1)


def test_cli_refuses_one_member_without_a_calibration(tmp_path, capsys):
    from moodlens_exporters._ensemble_cli import main

    a = _member(tmp_path / "a.onnx", 0, 0.5, 0.25)
    with pytest.raises(SystemExit) as exit_info:
        main([str(a), "--out", str(tmp_path / "e.onnx")])
    assert exit_info.value.code == 2
    assert "one member" in capsys.readouterr().err


@pytest.mark.parametrize("weights", [None, [1.0, 3.0]])
def test_flip_tta_averages_each_member_over_the_face_and_its_mirror(tmp_path, weights):
    from moodlens import EmotionDetector
    from moodlens_exporters._ensemble import merge

    members = [
        _member(tmp_path / "a.onnx", 0, 0.5, 0.25),
        _member(tmp_path / "b.onnx", 1, 0.0, 1.0),
    ]
    out = merge(members, tmp_path / "e.onnx", weights=weights, flip_tta=True)
    crops = np.random.default_rng(4).integers(0, 256, (6, 48, 48), dtype=np.uint8)
    mirrored = np.ascontiguousarray(crops[:, :, ::-1])
    w = np.ones(2) if weights is None else np.asarray(weights, float)
    expected = 0.0
    for wi, path in zip(w / w.sum(), members, strict=True):
        with EmotionDetector(model=path) as d:
            expected = expected + wi * (d.classify(crops) + d.classify(mirrored)) / 2
    with EmotionDetector(model=out) as ensemble:
        got, got_mirrored = ensemble.classify(crops), ensemble.classify(mirrored)
        one = ensemble.classify(crops[:1])  # a batch of one: the pairing is per face
        meta = ensemble.info.metadata
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # f(x) equals f(mirror of x), numerically, while the members alone differ
    np.testing.assert_allclose(got, got_mirrored, atol=1e-6)
    np.testing.assert_allclose(one, got[:1], atol=1e-6)
    with EmotionDetector(model=members[0]) as d:
        assert np.abs(d.classify(crops) - d.classify(mirrored)).max() > 1e-3
    assert meta["moodlens.flip_tta"] == "true"
    # a vector-scaling head sees the average itself (softmax(log p * scale + bias) is not
    # blind to a constant factor on p, as the plain average's renormalised scores are)
    scale, bias = np.linspace(0.6, 1.8, 7), np.linspace(-0.3, 0.3, 7)
    calibrated = merge(
        members, tmp_path / "v.onnx", weights=weights, flip_tta=True, vector=(scale, bias)
    )
    z = np.log(np.clip(expected, 1e-7, None)) * scale + bias
    want = np.exp(z - z.max(axis=1, keepdims=True))
    with EmotionDetector(model=calibrated) as d:
        np.testing.assert_allclose(
            d.classify(crops), want / want.sum(axis=1, keepdims=True), atol=1e-5
        )


def test_flip_tta_refuses_members_that_mirror_already(tmp_path, capsys):
    from moodlens_exporters._ensemble import merge
    from moodlens_exporters._ensemble_cli import main
    from moodlens_exporters._keras_to_onnx import ExportError

    a = _member(tmp_path / "a.onnx", 0, 0.5, 0.25, **{"moodlens.flip_tta": "true"})
    b = _member(tmp_path / "b.onnx", 1, 0.0, 1.0)
    with pytest.raises(ExportError, match="a.onnx average"):
        merge([a, b], tmp_path / "e.onnx", flip_tta=True)
    assert main([str(a), str(b), "--out", str(tmp_path / "e.onnx"), "--flip-tta"]) == 1
    err = capsys.readouterr().err
    assert "mirror images already" in err and "Traceback" not in err


def test_cli_flip_tta_with_one_member_writes_the_mirrored_member(tmp_path):
    from moodlens import EmotionDetector
    from moodlens_exporters._ensemble_cli import main

    a = _member(tmp_path / "a.onnx", 0, 0.5, 0.25)
    out = tmp_path / "e.onnx"
    assert main([str(a), "--out", str(out), "--flip-tta"]) == 0
    crops = np.random.default_rng(5).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    with EmotionDetector(model=out) as d:
        np.testing.assert_allclose(
            d.classify(crops), d.classify(np.ascontiguousarray(crops[:, :, ::-1])), atol=1e-6
        )
    assert json.loads(out.with_suffix(".export.json").read_text())["flip_tta"] is True


def test_ship_int8_writes_the_int8_graph_and_measures_it(tmp_path, monkeypatch, capsys):
    from moodlens import EmotionDetector
    from moodlens_exporters import _cli
    from moodlens_exporters._ensemble_cli import main

    monkeypatch.setattr(_cli, "END_TO_END_FACES", 4)
    member = _band_member(tmp_path / "a.onnx", 10.0)
    out = tmp_path / "fast.onnx"
    data = _band_csv(tmp_path, 140, 40)
    args = [str(member), "--out", str(out), "--data", str(data), "--calibrate", "vector"]
    assert main([*args, "--card", "--ship-int8", "--calibration-size", "64"]) == 0
    assert not out.with_suffix(".int8.onnx").exists()  # no copy beside: --out is the int8
    report = json.loads(out.with_suffix(".export.json").read_text())
    assert report["int8"]["shipped"] is True and report["int8"]["calibration_faces"] == 64
    faces = _band_faces(40, 2)
    with EmotionDetector(model=out) as d:
        meta = d.info.metadata
        scores = d.classify(faces.images)
    assert meta["moodlens.quantization"] == "int8-qdq-per-channel"
    assert json.loads(meta["moodlens.calibration"])["method"] == "vector"
    # the card's and the report's numbers are the int8 graph's own, "after" included
    from moodlens_training import evaluate_model_with_scores, load_faces, with_validation

    val = with_validation(load_faces(data))["Validation"]
    own, _ = evaluate_model_with_scores(out, val)
    after = {"accuracy": "validation_accuracy", "ece": "validation_ece_after"}
    for key, fit_key in {**after, "nll": "validation_nll_after"}.items():
        assert report["Validation"][key] == pytest.approx(own[key], abs=1e-9)
        assert report["calibration"][fit_key] == pytest.approx(own[key], abs=1e-9)
    assert float(meta["moodlens.publictest_accuracy"]) == pytest.approx(
        report["PublicTest"]["accuracy"], abs=1e-4
    )
    assert report["PublicTest"]["accuracy"] == pytest.approx(
        np.mean(scores.argmax(1) == faces.labels), abs=1e-9
    )
    card = out.with_suffix(".card.md").read_text()
    assert "**This graph is int8**" in card
    assert f"**PublicTest accuracy** | **{report['PublicTest']['accuracy']:.2%}**" in card
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--ship-int8", "--int8"])
    assert exit_info.value.code == 2
    assert "--int8 would quantise it again" in capsys.readouterr().err
