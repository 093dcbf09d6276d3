"""Evaluation of an exported ONNX model through the SDK, so the numbers are what users get."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from ._data import LABELS, FaceSet


def metrics(labels: np.ndarray, predicted: np.ndarray) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix."""
    n = len(LABELS)
    confusion = np.zeros((n, n), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    true_pos = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1)
    predicted_count = confusion.sum(axis=0)
    precision = np.divide(true_pos, predicted_count, out=np.zeros(n), where=predicted_count > 0)
    recall = np.divide(true_pos, support, out=np.zeros(n), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(n), where=denom > 0)
    return {
        "faces": int(len(labels)),
        "accuracy": float(true_pos.sum() / max(1, len(labels))),
        # over the classes present: a subset (e.g. --limit) may lack a rare class
        "macro_f1": float(f1[support > 0].mean()) if (support > 0).any() else 0.0,
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(LABELS)
        },
        "confusion": confusion.tolist(),
    }


def expected_calibration_error(labels: np.ndarray, scores: np.ndarray, bins: int = 15) -> float:
    """ECE: the mean |accuracy - confidence| over equal-width confidence bins, by share.

    ``scores`` are probabilities (N, classes); confidence is the top score.
    """
    confidence = scores.max(axis=1)
    correct = scores.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            ece += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(ece)


def calibration(labels: np.ndarray, scores: np.ndarray) -> dict:
    """ECE (15 bins), negative log-likelihood and mean confidence of probability scores."""
    picked = scores[np.arange(len(labels)), labels]
    return {
        "ece": expected_calibration_error(labels, scores),
        "nll": float(-np.log(np.clip(picked, 1e-12, 1.0)).mean()),
        "mean_confidence": float(scores.max(axis=1).mean()),
    }


PROGRESS_CHUNK = 512  # faces per progress-bar step: small enough to move, large enough to batch


def _classify(detector, images: np.ndarray, progress: str | None) -> np.ndarray:
    """``detector.classify(images)``, with a progress bar named ``progress`` on a terminal."""
    bar = _progress_bar(len(images), progress) if progress else None
    if bar is None:
        return detector.classify(images)
    parts = []
    with bar:
        for start in range(0, len(images), PROGRESS_CHUNK):
            parts.append(detector.classify(images[start : start + PROGRESS_CHUNK]))
            bar.update(len(parts[-1]))
    return np.concatenate(parts) if parts else detector.classify(images)


def _progress_bar(total: int, label: str):
    """A tqdm bar on stderr when it is a terminal and tqdm is installed, else None."""
    if total <= PROGRESS_CHUNK or not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=label, unit="face", file=sys.stderr, leave=False)


def evaluate_model(
    model: str | Path, faces: FaceSet, *, flip_tta: bool = False, progress: str | None = None
) -> dict:
    """Scores ``faces`` with ``EmotionDetector(model=...).classify`` and computes metrics.

    Args:
        model: an exported .onnx model.
        faces: the faces to score, with their labels.
        flip_tta: also average each face with its mirror image.
        progress: a label for a progress bar, shown on a terminal (stderr) when
            tqdm is installed and there are many faces; None for none.
    """
    return evaluate_model_with_scores(model, faces, flip_tta=flip_tta, progress=progress)[0]


def evaluate_model_with_scores(
    model: str | Path, faces: FaceSet, *, flip_tta: bool = False, progress: str | None = None
) -> tuple[dict, np.ndarray]:
    """:func:`evaluate_model`'s result and the (N, 7) scores it was computed from."""
    from moodlens import EmotionDetector

    with EmotionDetector(model=model) as detector:
        start = time.perf_counter()
        scores = _classify(detector, faces.images, progress)
        if flip_tta:
            mirrored = np.ascontiguousarray(faces.images[:, :, ::-1])
            label = f"{progress} (mirrored)" if progress else None
            scores = (scores + _classify(detector, mirrored, label)) / 2
        seconds = time.perf_counter() - start
        info = detector.info
    result = metrics(faces.labels, scores.argmax(axis=1))
    result.update(calibration(faces.labels, scores))
    result.update(
        {
            "model": str(model),
            "model_version": info.version,
            "flip_tta_at_evaluation": flip_tta,
            "model_metadata": dict(info.metadata),
            "seconds": seconds,
        }
    )
    return result, scores


def format_report(result: dict) -> str:
    """A plain-text report: headline numbers, per-class table, confusion matrix."""
    lines = [
        f"model     {result['model']} (version {result['model_version']})",
        f"data      {result.get('data', '?')} [{result.get('split', '?')}], {result['faces']} faces"
        + (" , flip TTA" if result["flip_tta_at_evaluation"] else ""),
        f"accuracy  {result['accuracy']:.4f}",
        f"macro-F1  {result['macro_f1']:.4f}",
        f"ECE       {result['ece']:.4f} (15 bins; mean confidence {result['mean_confidence']:.3f})"
        if "ece" in result
        else "",
        "",
        f"{'class':<9} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}",
    ]
    for name, m in result["per_class"].items():
        lines.append(
            f"{name:<9} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f} "
            f"{m['support']:>8d}"
        )
    lines += [
        "",
        "confusion (rows: true, columns: predicted)",
        " " * 9 + "".join(f"{n[:7]:>8}" for n in LABELS),
    ]
    for name, row in zip(LABELS, result["confusion"], strict=True):
        lines.append(f"{name:<9}" + "".join(f"{v:>8d}" for v in row))
    return "\n".join(lines)


def write_report(result: dict, folder: Path) -> None:
    """Writes report.json, report.md and confusion.png into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(result, indent=2))
    (folder / "report.md").write_text("```\n" + format_report(result) + "\n```\n")
    plot_confusion(
        np.asarray(result["confusion"]),
        folder / "confusion.png",
        title=f"{result.get('split', '')} accuracy {result['accuracy']:.1%}",
    )


def plot_confusion(confusion: np.ndarray, path: Path, title: str = "") -> None:
    """Row-normalised confusion matrix with counts, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = confusion.sum(axis=1, keepdims=True)
    share = np.divide(confusion, rows, out=np.zeros(confusion.shape), where=rows > 0)
    fig, ax = plt.subplots(figsize=(6.4, 5.6), dpi=120)
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(LABELS)), LABELS, rotation=35, ha="right")
    ax.set_yticks(range(len(LABELS)), LABELS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(LABELS)):
        for j in range(len(LABELS)):
            ax.text(
                j,
                i,
                f"{share[i, j]:.0%}\n{confusion[i, j]}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if share[i, j] > 0.5 else "black",
            )
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
