"""Per-batch augmentation in TensorFlow ops: all images of a batch at once.

Every random draw is stateless and derived from a per-step seed, so a run is
repeatable whatever the pipeline's parallelism, and a resumed run draws what
the uninterrupted run would have drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import tensorflow as tf


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random transforms; ``AugmentConfig.none()`` disables all."""

    flip: bool = True
    # Framing jitter: what a face finder's box does to a face (issue: scale 0.85-1.15,
    # shift up to 8%, roll up to 15 degrees until the finder benchmark publishes its own).
    max_rotation_deg: float = 15.0
    scale: tuple[float, float] = (0.85, 1.15)
    max_shift: float = 0.08  # fraction of the image side
    brightness: float = 0.2  # +- of the [0, 1] range
    contrast: tuple[float, float] = (0.7, 1.3)
    erase_probability: float = 0.5
    erase_area: tuple[float, float] = (0.02, 0.2)

    @classmethod
    def none(cls) -> AugmentConfig:
        return cls(False, 0.0, (1.0, 1.0), 0.0, 0.0, (1.0, 1.0), 0.0, (0.0, 0.0))


class _Draws:
    """Stateless uniform draws, each from its own sub-seed of one step seed."""

    def __init__(self, seed: tf.Tensor):
        self._seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=16)
        self._next = 0

    def uniform(self, shape, low=0.0, high=1.0) -> tf.Tensor:
        seed = self._seeds[self._next]
        self._next += 1
        return tf.random.stateless_uniform(shape, seed=seed, minval=low, maxval=high)


def _affine(images: tf.Tensor, cfg: AugmentConfig, draw: _Draws) -> tf.Tensor:
    """Random rotation, scale and shift about the centre, one transform per image."""
    batch = tf.shape(images)[0]
    size = tf.cast(tf.shape(images)[1], tf.float32)
    angle = draw.uniform([batch], -1.0, 1.0) * cfg.max_rotation_deg * math.pi / 180.0
    scale = draw.uniform([batch], cfg.scale[0], cfg.scale[1])
    shift = draw.uniform([batch, 2], -cfg.max_shift, cfg.max_shift) * size
    # Output->input mapping: p_in = A^-1 (p_out - c - t) + c, with A = scale * R(angle).
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    c = (size - 1.0) / 2.0
    tx, ty = shift[:, 0], shift[:, 1]
    a0, a1 = cos, sin
    b0, b1 = -sin, cos
    a2 = c - a0 * (c + tx) - a1 * (c + ty)
    b2 = c - b0 * (c + tx) - b1 * (c + ty)
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="REFLECT",
    )


def _erase(images: tf.Tensor, cfg: AugmentConfig, draw: _Draws) -> tf.Tensor:
    """Random erasing: a rectangle of each chosen image becomes uniform noise."""
    shape = tf.shape(images)
    batch, h, w = shape[0], shape[1], shape[2]
    hf, wf = tf.cast(h, tf.float32), tf.cast(w, tf.float32)
    area = draw.uniform([batch], cfg.erase_area[0], cfg.erase_area[1]) * hf * wf
    aspect = tf.exp(draw.uniform([batch], math.log(0.3), math.log(3.3)))
    eh = tf.minimum(tf.sqrt(area * aspect), hf)
    ew = tf.minimum(tf.sqrt(area / aspect), wf)
    y0 = draw.uniform([batch]) * (hf - eh)
    x0 = draw.uniform([batch]) * (wf - ew)
    ys = tf.range(hf)[None, :, None]
    xs = tf.range(wf)[None, None, :]
    inside = (
        (ys >= y0[:, None, None])
        & (ys < (y0 + eh)[:, None, None])
        & (xs >= x0[:, None, None])
        & (xs < (x0 + ew)[:, None, None])
    )
    chosen = draw.uniform([batch]) < cfg.erase_probability
    mask = (inside & chosen[:, None, None])[..., None]
    return tf.where(mask, draw.uniform(shape), images)


def augment_batch(images: tf.Tensor, cfg: AugmentConfig, seed: tf.Tensor) -> tf.Tensor:
    """Augments a float batch ``(B, H, W, 1)`` in [0, 1]; returns the same shape and range.

    Args:
        images: the batch.
        cfg: the ranges of the transforms.
        seed: shape ``[2]`` integers, e.g. ``(run seed, global step)``; the same seed
            gives the same augmentation.
    """
    batch = tf.shape(images)[0]
    draw = _Draws(seed)
    if cfg.flip:
        flip = draw.uniform([batch, 1, 1, 1]) < 0.5
        images = tf.where(flip, tf.reverse(images, axis=[2]), images)
    if cfg.max_rotation_deg or cfg.max_shift or cfg.scale != (1.0, 1.0):
        images = _affine(images, cfg, draw)
    if cfg.brightness or cfg.contrast != (1.0, 1.0):
        contrast = draw.uniform([batch, 1, 1, 1], cfg.contrast[0], cfg.contrast[1])
        bright = draw.uniform([batch, 1, 1, 1], -cfg.brightness, cfg.brightness)
        mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
        images = (images - mean) * contrast + mean + bright
    if cfg.erase_probability:
        images = _erase(images, cfg, draw)
    return tf.clip_by_value(images, 0.0, 1.0)
