"""Temperature scaling (Guo et al. 2017), fitted on the Validation split.

One scalar T divides the logits before the softmax: it changes confidence, never
the ranking, so accuracy is untouched. T is chosen by the negative log-likelihood
of the model's final scores (mirror averaging included) and baked into the graph.
"""

from __future__ import annotations

import math

import numpy as np

#: T is searched in [1/4, 4]: far outside that, a model is broken, not miscalibrated.
_LOG_T_RANGE = (math.log(0.25), math.log(4.0))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def scores_at(temperature: float, logits: np.ndarray, mirrored: np.ndarray | None) -> np.ndarray:
    """The graph's output at ``temperature``: softmax(logits / T), mirror-averaged if given."""
    probs = _softmax(logits / temperature)
    if mirrored is not None:
        probs = (probs + _softmax(mirrored / temperature)) / 2
    return probs


def _nll(temperature: float, logits, mirrored, labels) -> float:
    probs = scores_at(temperature, logits, mirrored)
    return float(-np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, 1.0)).mean())


def fit_temperature(
    logits: np.ndarray, labels: np.ndarray, mirrored: np.ndarray | None = None
) -> float:
    """The T that minimises the NLL of ``labels`` (golden-section search on log T).

    Args:
        logits: (N, classes) logits of the faces.
        labels: (N,) true classes.
        mirrored: (N, classes) logits of the mirrored faces when the graph averages both.

    Raises:
        ValueError: empty or mismatched inputs.
    """
    if len(logits) == 0 or len(logits) != len(labels):
        raise ValueError(f"need matching logits and labels, got {len(logits)} and {len(labels)}")
    lo, hi = _LOG_T_RANGE
    ratio = (math.sqrt(5) - 1) / 2

    def loss(log_t: float) -> float:
        return _nll(math.exp(log_t), logits, mirrored, labels)

    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = loss(a), loss(b)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = loss(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = loss(b)
    return math.exp((lo + hi) / 2)
