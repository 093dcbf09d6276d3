"""Models describe themselves: the SDK reads metadata and refuses models that don't."""

from __future__ import annotations

import json

import numpy as np
import pytest
from moodlens import Emotion, EmotionDetector, ModelError, OptionsError

from ..conftest import build_tiny_model, tiny_metadata


def test_tiny_model_loads_and_scores(tiny_model):
    with EmotionDetector(model=tiny_model) as d:
        assert d.info.version == "tiny-test"
        assert d.info.crop_margin == pytest.approx(0.1)
        scores = d.classify(np.full((3, 48, 48), 200, np.uint8))
    assert scores.shape == (3, 7)
    np.testing.assert_allclose(scores.sum(1), 1.0, atol=1e-6)


def test_label_order_in_the_file_is_respected(tmp_path):
    """A model whose output columns are in another order still reports Emotion order."""
    weights = np.zeros((48 * 48, 7), np.float32)
    weights[:, 0] = 1.0  # column 0 of this model wins for bright crops
    labels = ["happy", "angry", "disgust", "fear", "sad", "surprise", "neutral"]
    path = build_tiny_model(
        tmp_path / "reordered.onnx",
        weights=weights,
        metadata=tiny_metadata(**{"moodlens.labels": json.dumps(labels)}),
    )
    with EmotionDetector(model=path) as d:
        scores = d.classify(np.full((1, 48, 48), 255, np.uint8))
    assert list(Emotion)[int(scores[0].argmax())] is Emotion.HAPPY


def test_probabilities_output_is_not_softmaxed_twice(tmp_path):
    weights = np.zeros((48 * 48, 7), np.float32)
    meta = tiny_metadata(
        **{
            "moodlens.output": json.dumps("probabilities"),
            "moodlens.normalization": json.dumps({"scale": 0, "mean": -1, "std": 1}),
        }
    )
    weights[0, :] = [0.1, 0.1, 0.1, 0.4, 0.1, 0.1, 0.1]  # input is all ones after normalisation
    path = build_tiny_model(tmp_path / "p.onnx", weights=weights, metadata=meta)
    with EmotionDetector(model=path) as d:
        scores = d.classify(np.zeros((1, 48, 48), np.uint8))
    np.testing.assert_allclose(scores[0], [0.1, 0.1, 0.1, 0.4, 0.1, 0.1, 0.1], atol=1e-6)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"moodlens.labels": None}, "lacks moodlens.labels"),
        ({"moodlens.normalization": None, "moodlens.crop_margin": None}, "lacks.*normalization"),
        ({"moodlens.labels": json.dumps(["happy", "sad"])}, "seven emotions"),
        ({"moodlens.labels": json.dumps(["a", "b", "c", "d", "e", "f", "g"])}, "malformed"),
        ({"moodlens.input_size": "not json"}, "malformed"),
        ({"moodlens.normalization": json.dumps({"scale": 1})}, "malformed"),
        ({"moodlens.normalization": json.dumps({"scale": 1, "mean": 0, "std": 0})}, "positive"),
        ({"moodlens.crop_margin": "1.5"}, "margin"),
        ({"moodlens.output": json.dumps("votes")}, "probabilities or logits"),
        ({"moodlens.input_size": json.dumps([64, 64])}, "input shape"),
    ],
)
def test_models_without_proper_metadata_are_refused(tmp_path, overrides, message):
    path = build_tiny_model(tmp_path / "m.onnx", metadata=tiny_metadata(**overrides))
    with pytest.raises(ModelError, match=message):
        EmotionDetector(model=path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_shape": ("N", 48, 48, 3)}, "input shape"),
        ({"input_shape": ("N", 1, 48, 48)}, "input shape"),
        ({"outputs": 5}, "output shape"),
    ],
)
def test_wrong_shapes_are_refused(tmp_path, kwargs, message):
    path = build_tiny_model(tmp_path / "m.onnx", **kwargs)
    with pytest.raises(ModelError, match=message):
        EmotionDetector(model=path)


def test_missing_and_non_onnx_files(tmp_path):
    with pytest.raises(ModelError, match="neither a bundled model.*nor an existing file"):
        EmotionDetector(model=tmp_path / "nope.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00garbage")
    with pytest.raises(ModelError, match="not a model ONNX Runtime can load.*exported by"):
        EmotionDetector(model=junk)


@pytest.mark.filterwarnings("error::UserWarning")  # ORT warns when it gets a name's letters
@pytest.mark.parametrize("providers", [["CPUExecutionProvider"], "CPUExecutionProvider"])
def test_threads_and_providers_pass_through(tiny_model, providers):
    with EmotionDetector(model=tiny_model, threads=1, providers=providers) as d:
        assert d.classify(np.zeros((1, 48, 48), np.uint8)).shape == (1, 7)
    with pytest.raises(OptionsError, match="threads"):
        EmotionDetector(model=tiny_model, threads=0)


def _spy_on_batches(detector: EmotionDetector) -> list[int]:
    """Records the batch size of every ONNX Runtime call the detector makes."""
    session = detector._live_model._session
    sizes: list[int] = []
    run = session.run

    def spy(outputs, feeds, *args, **kwargs):
        sizes.append(next(iter(feeds.values())).shape[0])
        return run(outputs, feeds, *args, **kwargs)

    session.run = spy
    return sizes


@pytest.mark.parametrize("form", ["array", "list", "list of other sizes"])
def test_large_inputs_run_in_chunks_with_the_scores_of_one_batch(monkeypatch, form):
    """Memory is bounded (no call gets more than CHUNK_SIZE crops) and chunking changes
    no score: the same crops as one single batch give the same numbers."""
    import cv2
    from moodlens import _model

    n = 3 * _model.CHUNK_SIZE + 5
    crops = np.random.default_rng(3).integers(0, 256, (n, 48, 48), dtype=np.uint8)
    given = {
        "array": crops,
        "list": list(crops),
        "list of other sizes": [cv2.resize(c, (96, 96)) for c in crops],
    }[form]
    with EmotionDetector(threads=1) as chunked:
        sizes = _spy_on_batches(chunked)
        scores = chunked.classify(given)
    assert sizes == [_model.CHUNK_SIZE] * 3 + [5]
    monkeypatch.setattr(_model, "CHUNK_SIZE", 10 * n)
    with EmotionDetector(threads=1) as whole:
        sizes = _spy_on_batches(whole)
        reference = whole.classify(given)
    assert sizes == [n]
    assert scores.shape == (n, 7)
    np.testing.assert_allclose(scores, reference, rtol=0, atol=1e-6)


def test_a_model_with_a_fixed_batch_size_gets_full_batches(tmp_path):
    """An export with a fixed batch (here 3) is fed exactly that, padded at the end."""
    weights = np.random.default_rng(0).normal(0, 0.01, (48 * 48, 7)).astype(np.float32)
    fixed = build_tiny_model(tmp_path / "fixed.onnx", input_shape=(3, 48, 48, 1), weights=weights)
    free = build_tiny_model(tmp_path / "free.onnx", weights=weights)
    crops = np.random.default_rng(4).integers(0, 256, (7, 48, 48), dtype=np.uint8)
    with EmotionDetector(model=fixed) as d, EmotionDetector(model=free) as reference:
        sizes = _spy_on_batches(d)
        scores = d.classify(crops)
        np.testing.assert_allclose(scores, reference.classify(crops), atol=1e-6)
    assert sizes == [3, 3, 3]


def test_bundled_model_metadata_is_complete():
    import onnx
    from moodlens import default_model_path

    meta = {p.key: p.value for p in onnx.load(str(default_model_path())).metadata_props}
    for key in (
        "moodlens.labels",
        "moodlens.input_size",
        "moodlens.normalization",
        "moodlens.crop_margin",
        "moodlens.version",
        "moodlens.publictest_accuracy",
        "moodlens.training_data",
        "moodlens.training_commit",
    ):
        assert key in meta, key
