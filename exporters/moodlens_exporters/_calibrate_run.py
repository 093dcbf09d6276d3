"""Fits a run's temperature on Validation and measures calibration before and after."""

from __future__ import annotations

import numpy as np

from ._calibrate import fit_temperature, scores_at


def _logits(base, images: np.ndarray, config: dict, flip_tta: bool):
    x = ((images.astype(np.float32) / 255.0 - config["mean"]) / config["std"])[..., None]
    logits = base.predict(x, batch_size=256, verbose=0).astype(np.float64)
    mirrored = None
    if flip_tta:
        mirrored = base.predict(x[:, :, ::-1], batch_size=256, verbose=0).astype(np.float64)
    return logits, mirrored


def calibrate(base, faces: dict, config: dict, *, flip_tta: bool) -> dict[str, float]:
    """T fitted on ``faces["Validation"]``; ECE (15 bins) at T=1 and at T on Validation
    and, where present, PublicTest (measured only, never used to choose)."""
    from moodlens_training import VALIDATION, calibration

    val = faces[VALIDATION]
    logits, mirrored = _logits(base, val.images, config, flip_tta)
    temperature = fit_temperature(logits, val.labels, mirrored)
    plain = scores_at(1.0, logits, mirrored)
    before = calibration(val.labels, plain)
    after = calibration(val.labels, scores_at(temperature, logits, mirrored))
    result = {
        "temperature": temperature,
        "validation_accuracy": float((plain.argmax(1) == val.labels).mean()),
        "validation_ece_before": before["ece"],
        "validation_ece_after": after["ece"],
        "validation_nll_before": before["nll"],
        "validation_nll_after": after["nll"],
    }
    if "PublicTest" in faces:
        test = faces["PublicTest"]
        logits, mirrored = _logits(base, test.images, config, flip_tta)
        result["publictest_ece_before"] = calibration(
            test.labels, scores_at(1.0, logits, mirrored)
        )["ece"]
        result["publictest_ece_after"] = calibration(
            test.labels, scores_at(temperature, logits, mirrored)
        )["ece"]
    return result
