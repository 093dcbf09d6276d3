"""BlazeFace anchors, box decoding and MediaPipe's weighted non-maximum suppression (numpy).

Mirrors MediaPipe's ``SsdAnchorsCalculator`` (fixed anchor size), the decoding of
``TensorsToDetectionsCalculator`` and the weighted mode of ``NonMaxSuppressionCalculator``,
so the SDK needs the ONNX graph alone, never TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["decode", "ssd_anchors", "weighted_nms"]

#: MediaPipe clips raw scores to +-100 before the sigmoid; 80 keeps float32 exp finite.
RAW_SCORE_LIMIT = 80.0


def ssd_anchors(
    width: int,
    height: int,
    strides: Sequence[int],
    *,
    interpolated_scale_aspect_ratio: float = 1.0,
) -> np.ndarray:
    """Anchor centres (N, 2) as (x, y) in pixels of a ``width`` x ``height`` input, in the
    model's output order (MediaPipe's ``SsdAnchorsCalculator`` with a fixed anchor size).

    Consecutive layers with the same stride share one feature map; each layer adds one
    anchor per cell, two when the interpolated-scale anchor is on (ratio 1.0). The graph
    is fully convolutional, so any input whose sides are multiples of the largest stride
    gives a grid of anchors: the model slides over a large canvas in one run.
    """
    per_layer = 2 if interpolated_scale_aspect_ratio == 1.0 else 1
    out = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        stride = strides[i]
        xs = (np.arange(width // stride, dtype=np.float32) + 0.5) * stride
        ys = (np.arange(height // stride, dtype=np.float32) + 0.5) * stride
        gy, gx = np.meshgrid(ys, xs, indexing="ij")
        grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
        out.append(np.repeat(grid, per_layer * (j - i), axis=0))
        i = j
    return np.concatenate(out).astype(np.float32)


def decode(
    raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw model outputs to boxes, keypoints and scores in pixels of the model input.

    Args:
        raw_boxes: (N, 16) or (1, N, 16): centre offset, size, then 6 keypoint offsets, in
            pixels of the model input, relative to each anchor centre.
        raw_scores: (N,), (N, 1) or (1, N, 1) logits.
        anchors: (N, 2) anchor centres in pixels, from ``ssd_anchors``.

    Returns:
        boxes (N, 4) as x0, y0, x1, y1; keypoints (N, 6, 2) as x, y; scores (N,) in (0, 1).
    """
    raw = np.asarray(raw_boxes, dtype=np.float32).reshape(len(anchors), 16)
    centre = raw[:, 0:2] + anchors
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = raw[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]
    logits = np.clip(
        np.asarray(raw_scores, dtype=np.float32).reshape(-1), -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT
    )
    scores = 1.0 / (1.0 + np.exp(-logits))
    return boxes, keypoints, scores


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def weighted_nms(
    boxes: np.ndarray,
    keypoints: np.ndarray,
    scores: np.ndarray,
    *,
    score_threshold: float = 0.5,
    iou_threshold: float = 0.3,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MediaPipe's weighted non-maximum suppression.

    Candidates above ``score_threshold`` (with a positive size) are taken best first; every
    remaining candidate overlapping the best by more than ``iou_threshold`` joins its
    cluster, and the cluster's boxes and keypoints are averaged with the scores as weights.
    The cluster keeps the best score.

    Returns:
        boxes (K, 4), keypoints (K, 6, 2), scores (K,), best first.
    """
    keep = (scores > score_threshold) & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    order = np.argsort(-scores[keep], kind="stable")
    b, k, s = boxes[keep][order], keypoints[keep][order], scores[keep][order]
    out_b, out_k, out_s = [], [], []
    while len(s):
        near = _iou(b[0], b) > iou_threshold
        near[0] = True
        w = s[near] / s[near].sum()
        out_b.append(w @ b[near])
        out_k.append(np.tensordot(w, k[near], axes=1))
        out_s.append(s[0])
        b, k, s = b[~near], k[~near], s[~near]
    if not out_s:
        return (
            np.zeros((0, 4), np.float32),
            np.zeros((0, 6, 2), np.float32),
            np.zeros(0, np.float32),
        )
    return (
        np.asarray(out_b, np.float32),
        np.asarray(out_k, np.float32),
        np.asarray(out_s, np.float32),
    )
