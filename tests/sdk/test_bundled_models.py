"""Bundled models go by name; anything else is a path; a name that is neither says so."""

from __future__ import annotations

import moodlens
import pytest
from moodlens import EmotionDetector, ModelError
from moodlens._model import BUNDLED_MODELS


def test_none_and_default_are_the_same_bundled_model():
    with EmotionDetector() as a, EmotionDetector(model="default") as b:
        assert a.info.metadata == b.info.metadata


@pytest.mark.parametrize("name", sorted(moodlens.bundled_models()))
def test_every_shipped_name_loads_and_classifies(name):
    import numpy as np

    with EmotionDetector(model=name) as detector:
        scores = detector.classify(np.full((2, 48, 48), 128, np.uint8))
    assert scores.shape == (2, 7)
    assert np.allclose(scores.sum(axis=1), 1.0, atol=1e-4)


def test_default_and_its_int8_copy_ship():
    assert {"default", "default-int8"} <= set(moodlens.bundled_models())


@pytest.mark.parametrize(
    ("model", "says"),
    [
        ("fastest", "neither a bundled model"),
        ("no/such/model.onnx", "neither a bundled model"),
    ],
)
def test_unknown_name_or_missing_file_is_a_clear_model_error(model, says):
    with pytest.raises(ModelError, match=says) as info:
        EmotionDetector(model=model)
    assert "default" in str(info.value)  # lists what is shipped


def test_a_known_name_that_is_not_shipped_says_what_is(monkeypatch):
    monkeypatch.setitem(BUNDLED_MODELS, "accurate", "no_such_model_file.onnx")
    with pytest.raises(ModelError, match="not part of this moodlens installation"):
        EmotionDetector(model="accurate")
