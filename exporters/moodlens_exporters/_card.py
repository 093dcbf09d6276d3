"""The model card (<model>.card.md) of an exported model, written from measurements."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def hardware() -> str:
    """This machine in a few words (CPU model and core count)."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, no GPU"


#: The end of every moodlens model card: what the model is for and where it fails.
INTENDED_USE_AND_LIMITATIONS = """
## Intended use

Consumer apps that react to a user's expression with their consent: mood journals, music,
games, accessibility feedback. Output is a probability over seven posed-expression
categories for a face crop, not a measurement of what a person feels.

## Limitations

- **Data bias.** FER2013 was collected by web image search in 2013: mostly adults, light skin
  tones over-represented, frontal faces, many posed or exaggerated expressions. Accuracy is
  lower for children, older adults, darker skin tones, profile views, occlusion (masks,
  glasses, hands) and poor light; it has not been measured per group here.
- **Posed vs spontaneous.** Everyday spontaneous expressions are subtler than FER2013's; expect
  more `neutral` and more confusion between fear, surprise and sadness on real video.
- **Label noise.** FER2013's labels disagree with crowd relabelling (FER+) for a sizeable share
  of faces; about 1 in 3 faces are misclassified even on the test split.
- **Rare classes.** `disgust` has 436 training faces; its recall is the least reliable.
- **Not for decisions about people.** Do not use it for hiring, grading, policing, insurance,
  medical diagnosis or any decision with consequences for the person in the frame. An
  expression is not an emotion, and an emotion is not an intention.
"""


def per_class_rows(per_class: dict) -> str:
    """The rows of a per-class precision / recall / F1 / faces table."""
    return "\n".join(
        f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |"
        for name, m in per_class.items()
    )


def calibration_rows(calibration: dict | None, evaluation: dict) -> str:
    """Summary rows: the temperature and ECE before / after on Validation and PublicTest,
    or PublicTest's ECE alone when no temperature was fitted."""
    if not calibration:
        return f"| ECE, 15 bins, PublicTest | {evaluation.get('ece', float('nan')):.3f} |\n"
    if calibration.get("method") == "vector":
        rows = (
            "| calibration (fitted on Validation) | vector scaling, softmax(log p x scale + "
            "bias): scale "
            + ", ".join(f"{v:.2f}" for v in calibration["scale"])
            + "; bias "
            + ", ".join(f"{v:+.2f}" for v in calibration["bias"])
            + " |\n"
            f"| Validation accuracy: before / after calibration | "
            f"{calibration['validation_accuracy_before']:.2%} / "
            f"{calibration['validation_accuracy']:.2%} |\n"
        )
    else:
        rows = f"| temperature (fitted on Validation) | {calibration['temperature']:.3f} |\n"
    rows += (
        f"| ECE, 15 bins, Validation: before / after | "
        f"{calibration['validation_ece_before']:.3f} / "
        f"{calibration['validation_ece_after']:.3f} |\n"
    )
    if "publictest_ece_before" in calibration:
        rows += (
            f"| ECE, 15 bins, PublicTest: before / after | "
            f"{calibration['publictest_ece_before']:.3f} / "
            f"{calibration['publictest_ece_after']:.3f} |\n"
        )
    if "publictest_accuracy_before" in calibration and calibration.get("method") == "vector":
        rows += (
            f"| PublicTest accuracy without the calibration (for comparison) | "
            f"{calibration['publictest_accuracy_before']:.2%} |\n"
        )
    return rows


def results_section(evaluation: dict, confusion_file: str, end_to_end: dict | None) -> str:
    """Per-class PublicTest table, the confusion plot and the end-to-end section."""
    return f"""## Per class (PublicTest)

| class | precision | recall | F1 | faces |
|---|---|---|---|---|
{per_class_rows(evaluation["per_class"])}

![confusion matrix]({confusion_file})
{end_to_end_section(end_to_end)}"""


def end_to_end_section(end_to_end: dict | None) -> str:
    """The "Through detect()" section from ``face_measure.end_to_end``'s result ("" if None)."""
    if not end_to_end:
        return ""
    portrait, scenes, alone = (end_to_end[k] for k in ("portrait", "scenes", "alone"))
    return (
        "\n## Through `detect()`: end to end (PublicTest)\n\n"
        f"The first {alone['faces']} PublicTest faces of `benchmarks/bench_face_finder.py` "
        "(seed 1) placed\ninto frames, found by the default face finder (BlazeFace) and "
        "classified by this model;\na face not found counts as wrong.\n\n"
        "| | found | right end to end |\n|---|---|---|\n"
        "| portrait: 96 px face in a 48 px black border (192x192) | "
        f"{portrait['found']:.1%} | {portrait['right']:.1%} |\n"
        "| scenes: 64-160 px faces rolled up to 15 degrees in 1280x720 photos, "
        f"`min_face=56` | {scenes['found']:.1%} | {scenes['right']:.1%} |\n"
        f"| the classifier alone on the same 48x48 faces | - | {alone['right']:.1%} |\n"
    )


def _mirror_text(meta: dict) -> str:
    if meta.get("moodlens.flip_tta") == "true":
        return "yes: each face and its mirror image, averaged (twice the compute per face)"
    return "no"


def int8_sentence(int8: dict | None) -> str:
    """The card's line on the int8 copy (empty without one)."""
    if not int8:
        return ""
    if int8.get("shipped"):
        return (
            "\n**This graph is int8** (QDQ, per-channel): the calibrated fp32 graph, "
            f"quantised with {int8['calibration_faces']} Training faces "
            f"({int8['size_bytes'] / 1e6:.2f} MB vs {int8['fp32_size_bytes'] / 1e6:.2f} MB). "
            f"On Validation the fp32 graph scored {int8['validation_accuracy_fp32']:.2%} and "
            f"this one {int8['validation_accuracy']:.2%}; the fp32 graph is not shipped. "
            "Every other number on this card is the int8 graph's.\n"
        )
    return (
        f"\nAn int8 (QDQ, per-channel) copy measured {int8['publictest_accuracy']:.2%} "
        f"on PublicTest ({int8['size_bytes'] / 1e6:.1f} MB vs "
        f"{int8['fp32_size_bytes'] / 1e6:.1f} MB); it is not the default.\n"
    )


def write_model_card(
    path: Path,
    *,
    evaluation: dict,
    config: dict,
    state: dict,
    command: str,
    train_command: str,
    training_seconds: float | None,
    parity: dict,
    int8: dict | None = None,
    calibration: dict | None = None,
    confusion_file: str = "confusion.png",
    end_to_end: dict | None = None,
) -> None:
    """Writes the card; ``evaluation`` is moodlens_training.evaluate_model's result.

    ``training_seconds`` is what the training loop measured (None: not recorded);
    ``calibration`` is the exporter's temperature fit, if it ran; ``end_to_end`` is
    ``face_measure.end_to_end``'s result on PublicTest faces.
    """
    meta = evaluation["model_metadata"]
    name = meta.get("moodlens.name") or meta.get("moodlens.version", "?")
    selection = meta.get("moodlens.selection_split", "PublicTest")
    minutes = (
        f"{training_seconds / 60:.0f} minutes (measured by the training loop)"
        if training_seconds
        else "not recorded by this run"
    )
    faces_per_s = evaluation["faces"] / evaluation["seconds"] if evaluation.get("seconds") else 0
    if calibration:
        cal_rows = (
            f"| Validation accuracy (chose the epoch) | "
            f"{calibration['validation_accuracy']:.2%} |\n"
        ) + calibration_rows(calibration, evaluation)
    else:
        cal_rows = calibration_rows(None, evaluation)
    if selection == "PublicTest":
        honesty = (
            "PublicTest was used to choose the epoch, so its accuracy is slightly optimistic; "
            "FER2013's\nheld-back PrivateTest split was not available to this project."
        )
    else:
        honesty = (
            f"The epoch and the temperature were chosen on `{selection}` (10% of Training, "
            "stratified, fixed\nseed); PublicTest was measured once, for this card, and chose "
            "nothing. PrivateTest was never\navailable to this project."
        )
    int8_text = int8_sentence(int8)
    passes = (
        "mirror-image averaging baked into the graph"
        if meta.get("moodlens.flip_tta") == "true"
        else "single pass"
    )
    parity_text = (
        f"max abs diff {parity['max_abs_diff']:.1e}, argmax agreement "
        f"{parity['argmax_agreement']:.2%} on {parity['faces']} faces"
    )
    version = meta.get("moodlens.version", "?")
    ferplus = meta.get("moodlens.ferplus", "none")
    labels = "original" if ferplus == "none" else f"FER+ {ferplus}"
    text = f"""# Model card: `{name}` ({config["architecture"]}), version `{version}`

A moodlens emotion model (`{Path(evaluation["model"]).name}`), trained by `moodlens-train` and
exported by `moodlens-export`. Every number below was written by `moodlens-export --card` from
the evaluation it ran through the SDK (`EmotionDetector(model=...).classify`) on perfectly
framed FER2013 crops; through `detect()` on whole frames a face must first be found, which
costs more (see "Through `detect()`" below).

## Summary

| | |
|---|---|
| task | 7-class facial expression from a 48x48 gray face crop |
| classes | {", ".join(evaluation["per_class"])} (FER2013 order) |
| architecture | {config["architecture"]} ({passes}) |
| training data | FER2013 `Training` split ({config["train_size"]} faces), {labels} labels |
| model selection | FER2013 `{selection}` ({config["val_size"]} faces): best epoch by accuracy |
| PrivateTest | never used |
| epochs | best epoch {state.get("best_epoch")} of {state.get("epochs_done")} trained |
| training time | {minutes} on {hardware()} |
| training commit | `{config.get("commit", "?")}` |
| **PublicTest accuracy** | **{evaluation["accuracy"]:.2%}** |
| PublicTest macro-F1 | {evaluation["macro_f1"]:.3f} |
{cal_rows}| faces/s while evaluating (batched, this machine) | {faces_per_s:.0f} |
| parity Keras vs ONNX Runtime | {parity_text} |

{honesty}
{int8_text}
{results_section(evaluation, confusion_file, end_to_end)}
## Reproduce

```
{train_command}
{command}
moodlens-evaluate {Path(evaluation["model"]).name} --data fer2013.csv --split PublicTest
```
"""
    path.write_text(text + INTENDED_USE_AND_LIMITATIONS)


def _member_rows(members: list[dict]) -> str:
    def cell(value) -> str:
        return "-" if value is None else str(value)

    return "\n".join(
        f"| `{m['file']}` | {cell(m.get('version'))} | {cell(m.get('architecture'))} | "
        f"{'yes' if m.get('flip_tta') == 'true' else 'no'} | {cell(m.get('selection_split'))} | "
        f"{m['weight']:.3f} | {m['validation_accuracy']:.2%} |"
        for m in members
    )


def write_ensemble_card(
    path: Path,
    *,
    evaluation: dict,
    validation: dict,
    members: list[dict],
    weights_given: bool,
    command: str,
    calibration: dict | None = None,
    confusion_file: str = "confusion.png",
    end_to_end: dict | None = None,
    int8: dict | None = None,
) -> None:
    """Writes an ensemble's card (``moodlens-ensemble --card``).

    Args:
        path: the ``.card.md`` to write.
        evaluation: the merged model's PublicTest evaluation (as evaluate_model's).
        validation: the merged model's Validation evaluation (``accuracy``, ``macro_f1``).
        members: per member ``file``, ``weight`` (normalised), ``validation_accuracy``
            and, where its metadata has them, ``version``, ``architecture``,
            ``flip_tta`` and ``selection_split``.
        weights_given: the weights came from ``--weights`` (else equal).
        command: the command line that wrote the model, for the Reproduce block.
        calibration: the calibration fit (a temperature as moodlens-export's, or vector
            scaling), if it ran.
        confusion_file: the confusion plot's file name, beside the card.
        end_to_end: ``face_measure.end_to_end``'s result on PublicTest faces.
        int8: the int8 copy's PublicTest accuracy and sizes, if one was written.
    """
    meta = evaluation["model_metadata"]
    name = meta.get("moodlens.name") or meta.get("moodlens.version", "?")
    version = meta.get("moodlens.version", "?")
    file = Path(evaluation["model"]).name
    faces_per_s = evaluation["faces"] / evaluation["seconds"] if evaluation.get("seconds") else 0
    if weights_given:
        weights = (
            "given with `--weights` (to be chosen on Validation; this tool cannot check how "
            "they were chosen)"
        )
    elif len(members) == 1:
        weights = "none (one model)"
    else:
        weights = f"equal ({len(members)} members), nothing chosen"
    if not calibration:
        tuned = "nothing was"
    elif calibration.get("method") == "vector":
        tuned = "the calibration (vector scaling: a scale and a bias per class) was"
    else:
        tuned = "the temperature was"
    # absent: not written by moodlens-export, which always records it
    on_test = [m["file"] for m in members if m.get("selection_split") in ("PublicTest", None)]
    honesty = (
        f"Weights: {weights}. {tuned.capitalize()} fitted on `Validation` (10% of Training, "
        "stratified, fixed seed). PublicTest was measured once, after that, for this card, and "
        "chose nothing. PrivateTest was never available to this project. Members that chose "
        "their epoch on Validation make their Validation accuracy slightly optimistic."
    )
    if on_test:
        honesty += (
            f"\n\n**Not chosen on Validation: {', '.join(on_test)}** chose the epoch on "
            "PublicTest or do not say (`-`), so the PublicTest accuracy may be slightly "
            "optimistic."
        )
    shares = ", ".join(f"{m['weight']:.3f}" for m in members)
    speed = f"{faces_per_s:.0f} on {hardware()}"
    if len(members) == 1:
        kind, what = (
            "one model, calibrated",
            "one exported model with a calibration head after it, written by `moodlens-ensemble`",
        )
    else:
        kind, what = (
            f"ensemble of {len(members)}",
            f"one ONNX graph that runs {len(members)} exported models\nand averages their "
            "probabilities, merged by `moodlens-ensemble`",
        )
    text = f"""# Model card: `{name}` ({kind}), version `{version}`

A moodlens emotion model (`{file}`): {what}. Every number below was
written by `moodlens-ensemble --card` from the evaluation it ran through the SDK
(`EmotionDetector(model=...).classify`) on perfectly framed FER2013 crops; through
`detect()` on whole frames a face must first be found, which costs more (see "Through
`detect()`" below).

## Members

| file | version | architecture | mirror TTA | chose its epoch on | weight | Validation accuracy |
|---|---|---|---|---|---|---|
{_member_rows(members)}

## Summary

| | |
|---|---|
| task | 7-class facial expression from a 48x48 gray face crop |
| classes | {", ".join(evaluation["per_class"])} (FER2013 order) |
| architecture | {meta.get("moodlens.architecture", "?")} |
| mirror averaging | {_mirror_text(meta)} |
| weights | {"given" if weights_given else "equal"}: {shares} |
| Validation accuracy (merged) | {validation["accuracy"]:.2%} ({validation["faces"]} faces) |
| PrivateTest | never used |
| **PublicTest accuracy** | **{evaluation["accuracy"]:.2%}** ({evaluation["faces"]} faces) |
| PublicTest macro-F1 | {evaluation["macro_f1"]:.3f} |
{calibration_rows(calibration, evaluation)}| faces/s while evaluating (batched) | {speed} |

{honesty}
{int8_sentence(int8)}
{results_section(evaluation, confusion_file, end_to_end)}
## Reproduce

```
{command}
moodlens-evaluate {file} --data fer2013.csv --split PublicTest
```
"""
    path.write_text(text + INTENDED_USE_AND_LIMITATIONS)
