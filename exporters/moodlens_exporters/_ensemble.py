"""Several exported emotion models -> one ONNX graph that averages their probabilities.

Members may differ in architecture and normalisation: the merged graph takes
pixels scaled to [0, 1] and applies each member's own ``(x - mean) / std`` in
its branch, so one ``classify`` call runs them all. Members must agree on the
labels, input size and crop margin (the SDK crops once for the whole graph).

A calibration fitted on Validation can be baked in after the average: a temperature T,
softmax(log(max(p, SCORE_FLOOR)) / T), which changes confidence, never the ranking; or
vector scaling, softmax(log(max(p, SCORE_FLOOR)) * w + b) with a scale and a bias per
class, which can also move the argmax. A single member is allowed: the graph is then that
model with the calibration head, which is how a non-ensemble gets vector scaling.
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


def _calibration_head(averaged: str, out: str, temperature=None, vector=None):
    """Nodes and initializers for softmax(log(max(averaged, floor)) / temperature), or
    softmax(log(max(averaged, floor)) * scale + bias) for ``vector = (scale, bias)``."""
    from onnx import helper, numpy_helper

    inits = [numpy_helper.from_array(np.array(SCORE_FLOOR, np.float32), "score_floor")]
    nodes = [
        helper.make_node("Max", [averaged, "score_floor"], ["floored"]),
        helper.make_node("Log", ["floored"], ["log_scores"]),
    ]
    if vector is None:
        inits.append(numpy_helper.from_array(np.array(temperature, np.float32), "temperature"))
        nodes.append(helper.make_node("Div", ["log_scores", "temperature"], ["tempered"]))
    else:
        scale, bias = (np.asarray(v, np.float32).reshape(1, -1) for v in vector)
        inits += [
            numpy_helper.from_array(scale, "class_scale"),
            numpy_helper.from_array(bias, "class_bias"),
        ]
        nodes += [
            helper.make_node("Mul", ["log_scores", "class_scale"], ["scaled"]),
            helper.make_node("Add", ["scaled", "class_bias"], ["tempered"]),
        ]
    nodes.append(helper.make_node("Softmax", ["tempered"], [out], axis=1))
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


def _mirrors(meta: dict[str, str]) -> bool:
    return meta.get("moodlens.flip_tta") == "true"


#: Slice's "to the start" end for a negative step (INT64_MIN).
_INT64_MIN = np.iinfo(np.int64).min


def _int64(name: str, values: Sequence[int], dims: Sequence[int]):
    """A Constant node holding int64 ``values`` of shape ``dims``, output ``name``."""
    from onnx import TensorProto, helper

    tensor = helper.make_tensor(f"{name}_value", TensorProto.INT64, list(dims), list(values))
    return helper.make_node("Constant", [], [name], value=tensor)


def _mirror_in(x: str, out: str, prefix: str) -> list:
    """Nodes: ``out`` = the batch ``x`` (N, H, W, C) followed by its mirror images."""
    from onnx import helper

    steps = {"flip_start": -1, "flip_end": int(_INT64_MIN), "flip_axis": 2, "flip_step": -1}
    return [
        *(_int64(f"{prefix}{name}", [value], [1]) for name, value in steps.items()),
        helper.make_node("Slice", [x, *(f"{prefix}{n}" for n in steps)], [f"{prefix}mirrored"]),
        helper.make_node("Concat", [x, f"{prefix}mirrored"], [out], axis=0),
    ]


def _mirror_out(scores: str, classes: int, prefix: str) -> tuple[list, str]:
    """Nodes summing the scores of each face and of its mirror image (rows i and N + i
    of ``scores``, (2N, K)); returns them and the name of the (N, K) sum."""
    from onnx import helper

    p = prefix
    nodes = [
        _int64(f"{p}pair_shape", [2, -1, classes], [3]),
        _int64(f"{p}view0", [0], []),
        _int64(f"{p}view1", [1], []),
        helper.make_node("Reshape", [scores, f"{p}pair_shape"], [f"{p}pairs"]),
        helper.make_node("Gather", [f"{p}pairs", f"{p}view0"], [f"{p}plain"], axis=0),
        helper.make_node("Gather", [f"{p}pairs", f"{p}view1"], [f"{p}mirror_scores"], axis=0),
        helper.make_node("Add", [f"{p}plain", f"{p}mirror_scores"], [f"{p}both_views"]),
    ]
    return nodes, f"{p}both_views"


def _metadata(model) -> dict[str, str]:
    return {p.key: p.value for p in model.metadata_props}


def check_members(metas: Sequence[dict[str, str]], paths: Sequence[Path]) -> None:
    """Raises ExportError unless every member produces probabilities over the same
    labels from the same crop."""
    if not metas:
        raise ExportError("an ensemble needs at least one member model.")
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
    vector: tuple[Sequence[float], Sequence[float]] | None = None,
    flip_tta: bool = False,
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
        vector: ``(scale, bias)``, one of each per class: bake softmax(log p * scale +
            bias) instead (vector scaling, fitted on Validation) and record
            ``moodlens.calibration``; None for none.
        flip_tta: each member also scores the mirrored face (one run of the member on
            the batch and its mirror image together) and its two scores are averaged
            before the weighting: twice the compute per face. Members exported with
            ``--flip-tta`` already do this and are refused.

    Raises:
        ExportError: no members, one member without a calibration, members that
            disagree, bad weights, a temperature that is not a positive number, both a
            temperature and a vector, a vector of the wrong shape, or ``flip_tta``
            with a member that mirrors already.
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
    if temperature is not None and vector is not None:
        raise ExportError("give a temperature or a vector scaling, not both.")
    if vector is not None:
        scale, bias = (np.asarray(v, dtype=np.float64) for v in vector)
        classes = len(json.loads(metas[0]["moodlens.labels"]))
        if (
            scale.shape != (classes,)
            or bias.shape != (classes,)
            or not (np.isfinite(scale).all() and np.isfinite(bias).all())
        ):
            raise ExportError(
                f"vector scaling needs {classes} finite scales and biases, got shapes "
                f"{scale.shape} and {bias.shape}."
            )
    if len(models) == 1 and temperature is None and vector is None and not flip_tta:
        raise ExportError("one member and no calibration: that is the member itself.")
    if flip_tta:
        mirrored = [str(p) for p, m in zip(paths, metas, strict=True) if _mirrors(m)]
        if mirrored:
            raise ExportError(
                f"{', '.join(mirrored)} average(s) mirror images already (exported with "
                "--flip-tta); merge them without flip_tta, or export them without it."
            )

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
            # with flip_tta, the member's two views of a face share its weight
            numpy_helper.from_array(
                np.array(w[i] / 2 if flip_tta else w[i], np.float32), f"m{i}_weight"
            ),
        ]
        member_in, member_out = graph.input[0].name, graph.output[0].name
        normalised = f"m{i}_normalised" if flip_tta else member_in
        nodes += [
            helper.make_node("Mul", ["input", f"m{i}_norm_factor"], [f"m{i}_scaled"]),
            helper.make_node("Sub", [f"m{i}_scaled", f"m{i}_norm_shift"], [normalised]),
        ]
        if flip_tta:
            nodes += _mirror_in(normalised, member_in, f"m{i}_")
        nodes += list(graph.node)
        inits += list(graph.initializer)
        value_infos += list(graph.value_info)
        if flip_tta:
            classes = len(json.loads(meta["moodlens.labels"]))
            pair_nodes, member_out = _mirror_out(member_out, classes, f"m{i}_")
            nodes += pair_nodes
        nodes.append(helper.make_node("Mul", [member_out, f"m{i}_weight"], [f"m{i}_weighted"]))
        weighted.append(f"m{i}_weighted")
    if temperature is None and vector is None:
        nodes.append(helper.make_node("Sum", weighted, ["scores"]))
    else:
        nodes.append(helper.make_node("Sum", weighted, ["averaged"]))
        head, head_inits = _calibration_head("averaged", "scores", temperature, vector)
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
            "moodlens.architecture": metas[0].get("moodlens.architecture", "?")
            if len(metas) == 1
            else "ensemble(" + ", ".join(m.get("moodlens.architecture", "?") for m in metas) + ")",
            "moodlens.members": json.dumps(
                [
                    {"file": p.name, "version": m.get("moodlens.version"), "weight": float(wi)}
                    for p, m, wi in zip(paths, metas, w, strict=True)
                ]
            ),
            "moodlens.flip_tta": json.dumps(flip_tta or all(_mirrors(m) for m in metas)),
            "moodlens.selection_split": "Validation",
            **provenance(metas),
        }
    )
    if temperature is not None:
        props["moodlens.temperature"] = repr(float(temperature))
        props["moodlens.calibration"] = json.dumps(
            {"method": "temperature", "temperature": float(temperature)}
        )
    if vector is not None:
        props["moodlens.calibration"] = json.dumps(
            {
                "method": "vector",
                "scale": [round(float(v), 6) for v in vector[0]],
                "bias": [round(float(v), 6) for v in vector[1]],
            }
        )
    props.update(metadata or {})
    helper.set_model_props(merged, props)
    merged.doc_string = "moodlens facial-emotion ensemble"
    onnx.checker.check_model(merged)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(merged, str(out))
    return out
