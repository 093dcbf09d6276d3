"""A tiny end-to-end run: train 1 epoch -> export -> load in the SDK -> parity -> report files."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="the train extra is not installed")
pytest.importorskip("tf2onnx", reason="the train extra is not installed")


def _faces(fer_csv_or_none):
    from moodlens_training._data import FaceSet, load_fer2013_csv

    if fer_csv_or_none is not None:
        data = load_fer2013_csv(fer_csv_or_none)
        rng = np.random.default_rng(0)
        return {
            split: data[split].subset(np.sort(rng.permutation(len(data[split]))[:n]))
            for split, n in (("Training", 384), ("PublicTest", 128))
        }
    rng = np.random.default_rng(0)  # synthetic: class = brightness band, learnable in an epoch
    out = {}
    for split, n in (("Training", 384), ("PublicTest", 128)):
        labels = rng.integers(0, 7, n)
        images = (labels[:, None, None] * 36 + rng.integers(0, 20, (n, 48, 48))).astype(np.uint8)
        out[split] = FaceSet(images, labels.astype(np.int64), np.arange(n))
    return out


def _write_csv(path, faces):
    lines = ["emotion,pixels,Usage"]
    for split, f in faces.items():
        for image, label in zip(f.images, f.labels, strict=True):
            lines.append(f"{label},{' '.join(map(str, image.ravel()))},{split}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow
def test_train_export_load_evaluate(tmp_path, request, capsys):
    from moodlens import EmotionDetector
    from moodlens_exporters._cli import main as export_main
    from moodlens_training import with_validation
    from moodlens_training._evaluate import evaluate_model, write_report
    from moodlens_training._train import TrainConfig, train

    from ..conftest import SHARED_FER

    faces = with_validation(_faces(SHARED_FER if SHARED_FER.is_file() else None))
    run = tmp_path / "run"
    cfg = TrainConfig(architecture="mini_xception", epochs=1, batch_size=64, data="tiny.csv")
    state = train(cfg, faces, run, verbose=0)
    assert state["epochs_done"] == 1
    for name in ("config.json", "state.json", "last.keras", "best.keras", "log.csv"):
        assert (run / name).is_file(), name
    # resume continues from the checkpoint for one more epoch
    config = json.loads((run / "config.json").read_text())
    config["epochs"] = 2
    (run / "config.json").write_text(json.dumps(config))
    assert train(cfg, faces, run, resume=True, verbose=0)["epochs_done"] == 2

    out = tmp_path / "model.onnx"
    assert export_main([str(run), "--out", str(out), "--flip-tta"]) == 0
    parity = json.loads(out.with_suffix(".export.json").read_text())["parity"]
    assert parity["max_abs_diff"] < 1e-4 and parity["argmax_agreement"] == 1.0

    # with data: real-face parity, measured accuracy in the metadata, int8 copy, model card
    csv_path = _write_csv(
        tmp_path / "faces.csv", {s: f for s, f in faces.items() if s != "Validation"}
    )
    shipped = tmp_path / "models" / "emotion.onnx"
    args = [
        str(run),
        "--out",
        str(shipped),
        "--data",
        str(csv_path),
        "--int8",
        "--card",
        "--calibration-size",
        "64",
        "--tolerance",
        "1e-4",
    ]
    capsys.readouterr()
    assert export_main(args) == 0
    steps = [
        line.split(": ", 1)[1].split(" ")[0]
        for line in capsys.readouterr().err.splitlines()
        if line.startswith("moodlens-export: ")
    ]  # what runs, said as it starts
    assert steps == [
        "loading", "loading", "fitting", "converting", "checking", "evaluating", "quantizing",
        "evaluating", "writing", "measuring",
    ]  # fmt: skip
    report = json.loads(shipped.with_suffix(".export.json").read_text())
    with EmotionDetector(model=shipped.with_suffix(".int8.onnx")) as int8:
        assert int8.info.metadata["moodlens.quantization"] == "int8-qdq-per-channel"
        assert int8.classify(faces["PublicTest"].images[:4]).shape == (4, 7)
    with EmotionDetector(model=shipped) as detector:
        assert detector.info.accuracy == pytest.approx(report["publictest_accuracy"], abs=1e-4)
    card = shipped.with_suffix(".card.md").read_text()
    assert f"{report['publictest_accuracy']:.2%}" in card
    assert "chosen on `Validation`" in card and "default model" not in card
    # end to end through detect(): faces placed into frames, found, then classified
    e2e = card[card.index("## Through `detect()`") :]
    rows = re.findall(r"\| ([\d.]+)% \| ([\d.]+)% \|$", e2e, flags=re.MULTILINE)
    assert len(rows) == 2, e2e  # portrait and scenes: found, right end to end
    assert all(float(right) <= float(found) for found, right in rows), e2e
    if SHARED_FER.is_file():  # real faces: BlazeFace finds most (the synthetic ones are none)
        assert all(float(found) > 50.0 for found, _ in rows), e2e
    assert shipped.with_suffix(".confusion.png").stat().st_size > 0
    # temperature fitted on Validation, baked in, recorded; ECE reported before and after
    cal = report["calibration"]
    assert 0.25 <= cal["temperature"] <= 4.0
    with EmotionDetector(model=shipped) as detector:
        meta = detector.info.metadata
    assert float(meta["moodlens.temperature"]) == pytest.approx(cal["temperature"], abs=1e-4)
    assert meta["moodlens.selection_split"] == "Validation"
    # T minimises the Validation NLL; T = 1 (no scaling) is one of the candidates
    assert cal["validation_nll_after"] <= cal["validation_nll_before"] + 1e-6

    with EmotionDetector(model=out) as detector:
        assert detector.info.metadata["moodlens.flip_tta"] == "true"
        scores = detector.classify(faces["PublicTest"].images)
        # mirror averaging is baked in: f(x) equals f(mirror of x), numerically
        mirrored = detector.classify(np.ascontiguousarray(faces["PublicTest"].images[:, :, ::-1]))
    assert scores.shape == (128, 7)
    np.testing.assert_allclose(scores, mirrored, atol=1e-5)

    result = evaluate_model(out, faces["PublicTest"])
    write_report(result, tmp_path / "report")
    for name in ("report.json", "report.md", "confusion.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0
    assert 0.0 <= result["accuracy"] <= 1.0
