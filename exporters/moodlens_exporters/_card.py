"""MODEL_CARD.md for a shipped model, written from the measured evaluation, not by hand."""

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
) -> None:
    """Writes the card; ``evaluation`` is moodlens_training._evaluate.evaluate_model's result."""
    meta = evaluation["model_metadata"]
    rows = "\n".join(
        f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |"
        for name, m in evaluation["per_class"].items()
    )
    minutes = f"{training_seconds / 60:.0f} minutes" if training_seconds else "not recorded"
    int8_text = ""
    if int8:
        int8_text = (
            f"\nAn int8 (QDQ, per-channel) copy measured {int8['publictest_accuracy']:.2%} "
            f"on PublicTest ({int8['size_bytes'] / 1e6:.1f} MB vs "
            f"{int8['fp32_size_bytes'] / 1e6:.1f} MB); it is not the default.\n"
        )
    passes = (
        "mirror-image averaging baked into the graph"
        if meta.get("moodlens.flip_tta") == "true"
        else "single pass"
    )
    parity_text = (
        f"max abs diff {parity['max_abs_diff']:.1e}, argmax agreement "
        f"{parity['argmax_agreement']:.2%} on {parity['faces']} faces"
    )
    text = f"""# Model card: moodlens emotion model `{meta.get("moodlens.version", "?")}`

The default model of the `moodlens` SDK (`{Path(evaluation["model"]).name}`), trained and
exported by this repository's `training/` and `exporters/`. Every number below was written by
`moodlens-export --card` from the evaluation it ran through the SDK
(`EmotionDetector(model=...).classify`), so it is the number users get.

## Summary

| | |
|---|---|
| task | 7-class facial expression from a 48x48 gray face crop |
| classes | {", ".join(evaluation["per_class"])} (FER2013 order) |
| architecture | {config["architecture"]} ({passes}) |
| training data | FER2013 `Training` split ({config["train_size"]} faces), original labels |
| model selection | FER2013 `PublicTest` ({config["val_size"]} faces): best epoch by accuracy |
| PrivateTest | never used |
| epochs | best epoch {state.get("best_epoch")} of {state.get("epochs_done")} trained |
| training time | {minutes} on {hardware()} |
| training commit | `{config.get("commit", "?")}` |
| **PublicTest accuracy** | **{evaluation["accuracy"]:.2%}** |
| PublicTest macro-F1 | {evaluation["macro_f1"]:.3f} |
| parity Keras vs ONNX Runtime | {parity_text} |

PublicTest was used to choose the epoch, so its accuracy is slightly optimistic; FER2013's
held-back PrivateTest split was not available to this project.
{int8_text}
## Per class (PublicTest)

| class | precision | recall | F1 | faces |
|---|---|---|---|---|
{rows}

![confusion matrix](confusion.png)

## Reproduce

```
{train_command}
{command}
moodlens-evaluate sdk/moodlens/models/emotion_default.onnx --data fer2013.csv --split PublicTest
```

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
    path.write_text(text)
