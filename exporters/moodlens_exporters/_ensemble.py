"""Several exported emotion models -> one ONNX graph that averages their probabilities.

Members may differ in architecture and normalisation: the merged graph takes
pixels scaled to [0, 1] and applies each member's own ``(x - mean) / std`` in
its branch, so one ``classify`` call runs them all. Members must agree on the
labels, input size and crop margin (the SDK crops once for the whole graph).

A temperature T fitted on Validation can be baked in after the average:
softmax(log(max(p, SCORE_FLOOR)) / T), which changes confidence, never the ranking.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ._keras_to_onnx import ExportError

_SAME = ("moodlens.labels", "moodlens.input_size", "moodlens.crop_margin")
#: The averaged probabilities are floored before the log: a member may round a score to 0.
SCORE_FLOOR = 1e-7


def log_scores(scores: np.ndarray) -> np.ndarray:
    """log(max(p, SCORE_FLOOR)): the "logits" a baked temperature divides."""
    return np.log(np.clip(np.asarray(scores, dtype=np.float64), SCORE_FLOOR, None))


def _temperature_head(averaged: str, temperature: float, out: str):
    """Nodes and initializers for softmax(log(max(averaged, floor)) / temperature)."""
    from onnx import helper, numpy_helper

    inits = [
        numpy_helper.from_array(np.array(SCORE_FLOOR, np.float32), "score_floor"),
        numpy_helper.from_array(np.array(temperature, np.float32), "temperature"),
    ]
    nodes = [
        helper.make_node("Max", [averaged, "score_floor"], ["floored"]),
        helper.make_node("Log", ["floored"], ["log_scores"]),
        helper.make_node("Div", ["log_scores", "temperature"], ["tempered"]),
        helper.make_node("Softmax", ["tempered"], [out], axis=1),
    ]
    return nodes, inits


#: Where the members came from; the merged model records each distinct value, in order.
_PROVENANCE = ("moodlens.training_data", "moodlens.training_split", "moodlens.training_commit")


def provenance(metas: Sequence[dict[str, str]]) -> dict[str, str]:
    """The merged model's data, split and source commit (the members' distinct values,
    comma-separated) and its export time."""
    from datetime import datetime, timezone

    out = {}
    for key in _PROVENANCE:
        values = list(dict.fromkeys(m[key] for m in metas if key in m))
        if values:
            out[key] = ", ".join(values)
    out["moodlens.exported_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return out


def _metadata(model) -> dict[str, str]:
    return {p.key: p.value for p in model.metadata_props}


def check_members(metas: Sequence[dict[str, str]], paths: Sequence[Path]) -> None:
    """Raises ExportError unless every member produces probabilities over the same
    labels from the same crop."""
    if len(metas) < 2:
        raise ExportError("an ensemble needs at least two member models.")
    for meta, path in zip(metas, paths, strict=True):
        if json.loads(meta.get("moodlens.output", '"probabilities"')) != "probabilities":
            raise ExportError(f"{path}: outputs logits; export members with their softmax.")
        for key in _SAME:
            if meta.get(key) != metas[0].get(key):
                raise ExportError(
                    f"{path}: {key} is {meta.get(key)} but {paths[0]} has "
                    f"{metas[0].get(key)}; ensemble members must agree on it."
                )


def merge(
    paths: Sequence[str | Path],
    out: str | Path,
    *,
    weights: Sequence[float] | None = None,
    metadata: dict[str, str] | None = None,
    temperature: float | None = None,
) -> Path:
    """Writes the ensemble of ``paths`` to ``out``; returns ``out``.

    Args:
        paths: member ``.onnx`` files exported by moodlens-export.
        out: the merged model to write.
        weights: one per member (normalised to sum 1); equal when None. Choose them
            on the Validation split, never on a test split.
        metadata: extra ``moodlens.*`` entries (version, name, measured numbers).
        temperature: bake softmax(log p / T) after the average (fitted on Validation,
            see ``log_scores``) and record ``moodlens.temperature``; None for none.

    Raises:
        ExportError: fewer than two members, members that disagree, bad weights or a
            temperature that is not a positive number.
    """
    import onnx
    from onnx import TensorProto, compose, helper, numpy_helper

    paths = [Path(p) for p in paths]
    models = [onnx.load(str(p)) for p in paths]
    metas = [_metadata(m) for m in models]
    check_members(metas, paths)
    w = np.ones(len(models)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(models),) or (w < 0).any() or w.sum() <= 0:
        raise ExportError(f"need {len(models)} non-negative weights, got {list(w)}.")
    w = w / w.sum()
    if temperature is not None and not (np.isfinite(temperature) and temperature > 0):
        raise ExportError(f"the temperature must be a positive number, got {temperature}.")

    height, width = json.loads(metas[0]["moodlens.input_size"])
    nodes, inits, value_infos = [], [], []
    weighted = []
    for i, (model, meta) in enumerate(zip(models, metas, strict=True)):
        prefixed = compose.add_prefix(model, prefix=f"m{i}_")
        graph = prefixed.graph
        norm = json.loads(meta["moodlens.normalization"])
        # input here is pixel / 255; the member wants (pixel * scale - mean) / std
        factor = norm["scale"] * 255.0 / norm["std"]
        shift = norm["mean"] / norm["std"]
        inits += [
            numpy_helper.from_array(np.array(factor, np.float32), f"m{i}_norm_factor"),
            numpy_helper.from_array(np.array(shift, np.float32), f"m{i}_norm_shift"),
            numpy_helper.from_array(np.array(w[i], np.float32), f"m{i}_weight"),
        ]
        nodes += [
            helper.make_node("Mul", ["input", f"m{i}_norm_factor"], [f"m{i}_scaled"]),
            helper.make_node("Sub", [f"m{i}_scaled", f"m{i}_norm_shift"], [graph.input[0].name]),
        ]
        nodes += list(graph.node)
        inits += list(graph.initializer)
        value_infos += list(graph.value_info)
        nodes.append(
            helper.make_node("Mul", [graph.output[0].name, f"m{i}_weight"], [f"m{i}_weighted"])
        )
        weighted.append(f"m{i}_weighted")
    if temperature is None:
        nodes.append(helper.make_node("Sum", weighted, ["scores"]))
    else:
        nodes.append(helper.make_node("Sum", weighted, ["averaged"]))
        head, head_inits = _temperature_head("averaged", temperature, "scores")
        nodes += head
        inits += head_inits
    graph = helper.make_graph(
        nodes,
        "moodlens_ensemble",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, height, width, 1])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [None, 7])],
        initializer=inits,
        value_info=value_infos,
    )
    opset = max(
        (o.version for m in models for o in m.opset_import if o.domain in ("", "ai.onnx")),
        default=17,
    )
    merged = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    merged.ir_version = max(m.ir_version for m in models)
    props = {k: v for k, v in metas[0].items() if k in _SAME or k == "moodlens.output"}
    props.update(
        {
            "moodlens.normalization": json.dumps({"scale": 1 / 255, "mean": 0.0, "std": 1.0}),
            "moodlens.architecture": "ensemble("
            + ", ".join(m.get("moodlens.architecture", "?") for m in metas)
            + ")",
            "moodlens.members": json.dumps(
                [
                    {"file": p.name, "version": m.get("moodlens.version"), "weight": float(wi)}
                    for p, m, wi in zip(paths, metas, w, strict=True)
                ]
            ),
            "moodlens.flip_tta": json.dumps(
                all(m.get("moodlens.flip_tta") == "true" for m in metas)
            ),
            "moodlens.selection_split": "Validation",
            **provenance(metas),
        }
    )
    if temperature is not None:
        props["moodlens.temperature"] = repr(float(temperature))
    props.update(metadata or {})
    helper.set_model_props(merged, props)
    merged.doc_string = "moodlens facial-emotion ensemble"
    onnx.checker.check_model(merged)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(merged, str(out))
    return out
