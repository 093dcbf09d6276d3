"""Temperature scaling and ECE: the numbers the model cards and benchmarks report."""

from __future__ import annotations

import numpy as np
import pytest
from moodlens_training import expected_calibration_error

pytest.importorskip("onnx", reason="the exporters need the train extra")


def test_ece_of_perfectly_calibrated_and_overconfident_scores():
    rng = np.random.default_rng(0)
    n = 20000
    conf = rng.uniform(0.3, 1.0, n)
    labels = np.zeros(n, dtype=np.int64)
    right = rng.uniform(size=n) < conf  # right exactly as often as it claims
    scores = np.zeros((n, 7))
    scores[np.arange(n), np.where(right, 0, 1)] = conf
    scores[:, 2:] = ((1 - conf) / 5)[:, None]
    assert expected_calibration_error(labels, scores) < 0.02
    over = scores.copy()
    over[np.arange(n), np.where(right, 0, 1)] = 1.0
    assert expected_calibration_error(labels, over) > 0.2


@pytest.mark.parametrize("true_t", [0.5, 1.0, 2.5])
def test_fit_recovers_the_temperature_that_made_the_labels(true_t):
    from moodlens_exporters._calibrate import fit_temperature, scores_at

    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, (8000, 7))
    probs = scores_at(true_t, logits, None)
    labels = np.array([rng.choice(7, p=p) for p in probs])
    assert fit_temperature(logits, labels) == pytest.approx(true_t, rel=0.1)


def test_fit_with_mirror_averaging_and_bad_input():
    from moodlens_exporters._calibrate import fit_temperature

    rng = np.random.default_rng(2)
    logits = rng.normal(0, 2, (500, 7))
    labels = logits.argmax(1)
    t = fit_temperature(logits, labels, mirrored=logits + rng.normal(0, 0.1, logits.shape))
    assert 0.25 <= t < 1.0  # always right: sharpen
    with pytest.raises(ValueError, match="matching"):
        fit_temperature(logits, labels[:10])
