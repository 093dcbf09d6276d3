"""Ways to calibrate an ensemble's scores, compared on FER2013 Validation by cross-fitting.

Each member scores the Validation faces once. Every method is then fitted on four fifths
of Validation and scored on the fifth it did not see (five stratified folds, fixed seed),
and the five held-out fifths are pooled, so no number here was fitted on the faces it
scores. PublicTest is never loaded: it measures the method that ships, once, through
``moodlens-ensemble``.

Methods (``p_i`` a member's probabilities, ``z = log(mean_i p_i)``):

- ``none``: the plain average of the members, ``softmax(z)``;
- ``temperature``: ``softmax(z / T)``, what ``moodlens-ensemble`` bakes in today;
- ``geometric+T``: ``softmax(mean_i log p_i / T)``, the average of the members' logits;
- ``member-T``: each member tempered by its own T before the average, then one more T;
- ``vector``: ``softmax(w * z + b)`` with a scale and a bias per class (Guo et al. 2017),
  fitted by log-likelihood with a small L2 pull towards ``w = 1/T, b = 0``: what
  ``moodlens-ensemble --calibrate vector`` bakes in;
- ``matrix``: ``softmax(W z + b)`` with a full 7x7 ``W`` (Dirichlet calibration, Kull et
  al. 2019), the off-diagonal of ``W`` and ``b`` pulled towards 0 (L2, 0.01);
- ``T+prior-tau``: temperature, then the logit adjustment ``- tau * log(prior)`` (Menon et
  al. 2021) that trades the frequent classes' recall for the rare ones' (fear, disgust,
  sad). ``tau`` is chosen on the fitting folds for the best macro-F1.

Columns: accuracy, macro-F1, negative log-likelihood, ECE (15 bins), and the recall of the
three weakest classes.

    python benchmarks/bench_calibration.py --data ../shared/data/fer2013/fer2013-train-val.csv.gz \
        training/members/vgg2.onnx training/members/vgg3.onnx
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import moodlens_exporters as exporters
import numpy as np
from moodlens import EmotionDetector
from moodlens_training import (
    LABELS,
    VALIDATION,
    expected_calibration_error,
    load_faces,
    metrics,
    with_validation,
)

FLOOR = 1e-6
WEAK = ("fear", "disgust", "sad")
Fitted = Callable[[np.ndarray], np.ndarray]  # member probabilities (M, N, C) -> scores


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def nll(scores: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.log(np.clip(scores[np.arange(len(labels)), labels], 1e-12, 1)).mean())


def fit_scalar_t(logits: np.ndarray, labels: np.ndarray) -> float:
    return exporters.fit_temperature(logits, labels, None)


def mean_log(members: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(members.mean(axis=0), FLOOR))


def fit_none(members: np.ndarray, labels: np.ndarray) -> Fitted:
    return lambda m: softmax(mean_log(m))


def fit_temperature(members: np.ndarray, labels: np.ndarray) -> Fitted:
    t = fit_scalar_t(mean_log(members), labels)
    return lambda m: softmax(mean_log(m) / t)


def geometric(members: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(members, FLOOR)).mean(axis=0)


def fit_geometric(members: np.ndarray, labels: np.ndarray) -> Fitted:
    t = fit_scalar_t(geometric(members), labels)
    return lambda m: softmax(geometric(m) / t)


def fit_member_t(members: np.ndarray, labels: np.ndarray) -> Fitted:
    ts = [fit_scalar_t(np.log(np.maximum(p, FLOOR)), labels) for p in members]

    def tempered(m: np.ndarray) -> np.ndarray:
        each = [softmax(np.log(np.maximum(p, FLOOR)) / t) for p, t in zip(m, ts, strict=True)]
        return np.log(np.maximum(np.mean(each, axis=0), FLOOR))

    t_all = fit_scalar_t(tempered(members), labels)
    return lambda m: softmax(tempered(m) / t_all)


def fit_vector(members: np.ndarray, labels: np.ndarray) -> Fitted:
    """What ``moodlens-ensemble --calibrate vector`` fits and bakes in."""
    scale, bias = exporters.fit_vector_scaling(mean_log(members), labels)
    return lambda m: exporters.vector_scores(scale, bias, mean_log(m))


def fit_matrix_scaling(
    logits: np.ndarray, labels: np.ndarray, l2: float = 0.01
) -> tuple[np.ndarray, np.ndarray]:
    """Dirichlet calibration (Kull et al. 2019) on log-probabilities: softmax(z @ W.T + b),
    W a full matrix. Fitted by NLL with an L2 pull of W's off-diagonal and of b towards 0
    (``l2`` fixed before any result, not tuned); W starts at the temperature's 1/T."""
    from scipy.optimize import minimize

    z = np.asarray(logits, dtype=np.float64)
    n, c = z.shape
    onehot = np.eye(c)[labels]
    off = 1.0 - np.eye(c)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[: c * c].reshape(c, c), params[c * c :]
        s = z @ w.T + b
        s -= s.max(axis=1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        value = -(onehot * logp).sum() / n + l2 * ((w * off) ** 2).sum() + l2 * (b**2).sum()
        g = (np.exp(logp) - onehot) / n
        dw = g.T @ z + 2 * l2 * w * off
        db = g.sum(axis=0) + 2 * l2 * b
        return value, np.concatenate([dw.ravel(), db])

    start = np.concatenate([(np.eye(c) / fit_scalar_t(z, labels)).ravel(), np.zeros(c)])
    result = minimize(loss, start, jac=True, method="L-BFGS-B")
    return result.x[: c * c].reshape(c, c), result.x[c * c :]


def fit_matrix(members: np.ndarray, labels: np.ndarray) -> Fitted:
    w, b = fit_matrix_scaling(mean_log(members), labels)
    return lambda m: softmax(mean_log(m) @ w.T + b)


def fit_prior_tau(members: np.ndarray, labels: np.ndarray) -> Fitted:
    z = mean_log(members)
    t = fit_scalar_t(z, labels)
    prior = np.bincount(labels, minlength=z.shape[1]) / len(labels)
    adjust = -np.log(np.maximum(prior, FLOOR))
    taus = np.linspace(0.0, 1.0, 11)
    best = max(
        taus,
        key=lambda tau: metrics(labels, (z / t + tau * adjust).argmax(1))["macro_f1"],
    )
    return lambda m: softmax(mean_log(m) / t + best * adjust)


METHODS: dict[str, Callable[[np.ndarray, np.ndarray], Fitted]] = {
    "none": fit_none,
    "temperature": fit_temperature,
    "geometric+T": fit_geometric,
    "member-T": fit_member_t,
    "vector": fit_vector,
    "matrix": fit_matrix,
    "T+prior-tau": fit_prior_tau,
}


def folds(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """A stratified fold number per face."""
    rng = np.random.default_rng(seed)
    out = np.zeros(len(labels), dtype=np.int64)
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        out[idx] = np.arange(len(idx)) % k
    return out


def cross_fitted(members: np.ndarray, labels: np.ndarray, fit, k: int, seed: int) -> np.ndarray:
    fold = folds(labels, k, seed)
    scores = np.zeros(members.shape[1:])
    for f in range(k):
        held = fold == f
        scores[held] = fit(members[:, ~held], labels[~held])(members[:, held])
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("members", nargs="+", help="member .onnx models")
    parser.add_argument("--data", required=True, help="fer2013.csv[.gz] (Validation is carved)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    val = with_validation(load_faces(args.data))[VALIDATION]
    members = []
    for path in args.members:
        with EmotionDetector(model=path) as model:
            members.append(model.classify(val.images))
    stacked = np.stack(members)
    labels = val.labels
    names = " + ".join(args.members)
    print(f"{names}: {len(labels)} Validation faces, {args.folds}-fold cross-fitted\n")
    weak = [LABELS.index(w) for w in WEAK]
    recall_heads = " | ".join(f"{w} recall" for w in WEAK)
    print(f"| method | accuracy | macro-F1 | NLL | ECE | {recall_heads} |")
    print("|---|---|---|---|---|" + "---|" * len(WEAK))
    for name, fit in METHODS.items():
        scores = cross_fitted(stacked, labels, fit, args.folds, args.seed)
        m = metrics(labels, scores.argmax(1))
        recalls = " | ".join(f"{m['per_class'][LABELS[i]]['recall']:.3f}" for i in weak)
        print(
            f"| {name} | {m['accuracy']:.2%} | {m['macro_f1']:.3f} | {nll(scores, labels):.4f} "
            f"| {expected_calibration_error(labels, scores):.4f} | {recalls} |"
        )


if __name__ == "__main__":
    main()
