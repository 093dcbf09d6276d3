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


def _vector_loss(params: np.ndarray, logits: np.ndarray, onehot: np.ndarray, anchor, l2: float):
    classes = logits.shape[1]
    probs = _softmax(logits * params[:classes] + params[classes:])
    picked = np.clip((probs * onehot).sum(axis=1), 1e-12, 1.0)
    diff = (probs - onehot) / len(logits)
    grad = np.concatenate([(diff * logits).sum(axis=0), diff.sum(axis=0)])
    pull = params - anchor
    return float(-np.log(picked).mean() + l2 * (pull @ pull)), grad + 2 * l2 * pull


def fit_vector_scaling(
    logits: np.ndarray, labels: np.ndarray, l2: float = 1e-3
) -> tuple[np.ndarray, np.ndarray]:
    """Vector scaling (Guo et al. 2017): a scale and a bias per class, softmax(z * w + b).

    Fitted by the NLL of ``labels`` with a small L2 pull towards plain temperature scaling
    (w = 1/T, b = 0), so a rare class with few faces cannot run away. Unlike a temperature
    it can move the argmax. ``benchmarks/bench_calibration.py`` compares it with the
    temperature, cross-fitted on Validation.

    Returns:
        (scale, bias), each of shape (classes,).

    Raises:
        ValueError: empty or mismatched inputs.
    """
    from scipy.optimize import minimize

    logits = np.asarray(logits, dtype=np.float64)
    if len(logits) == 0 or len(logits) != len(labels):
        raise ValueError(f"need matching logits and labels, got {len(logits)} and {len(labels)}")
    classes = logits.shape[1]
    onehot = np.eye(classes)[np.asarray(labels)]
    anchor = np.concatenate(
        [np.full(classes, 1.0 / fit_temperature(logits, labels)), np.zeros(classes)]
    )
    result = minimize(
        _vector_loss, anchor, args=(logits, onehot, anchor, l2), jac=True, method="L-BFGS-B"
    )
    return result.x[:classes], result.x[classes:]


def vector_scores(scale: np.ndarray, bias: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """The graph's output under vector scaling: softmax(logits * scale + bias)."""
    return _softmax(np.asarray(logits, dtype=np.float64) * scale + bias)
