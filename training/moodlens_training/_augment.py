"""Per-batch augmentation in TensorFlow ops: all images of a batch at once."""

from __future__ import annotations

import math
from dataclasses import dataclass

import tensorflow as tf


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random transforms; ``AugmentConfig.none()`` disables all."""

    flip: bool = True
    max_rotation_deg: float = 10.0
    scale: tuple[float, float] = (0.9, 1.1)
    max_shift: float = 0.1  # fraction of the image side
    brightness: float = 0.2  # +- of the [0, 1] range
    contrast: tuple[float, float] = (0.7, 1.3)
    erase_probability: float = 0.5
    erase_area: tuple[float, float] = (0.02, 0.2)

    @classmethod
    def none(cls) -> AugmentConfig:
        return cls(False, 0.0, (1.0, 1.0), 0.0, 0.0, (1.0, 1.0), 0.0, (0.0, 0.0))


def _affine(images: tf.Tensor, cfg: AugmentConfig) -> tf.Tensor:
    """Random rotation, scale and shift about the centre, one transform per image."""
    batch = tf.shape(images)[0]
    size = tf.cast(tf.shape(images)[1], tf.float32)
    angle = tf.random.uniform([batch], -1.0, 1.0) * cfg.max_rotation_deg * math.pi / 180.0
    scale = tf.random.uniform([batch], cfg.scale[0], cfg.scale[1])
    shift = tf.random.uniform([batch, 2], -cfg.max_shift, cfg.max_shift) * size
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


def _erase(images: tf.Tensor, cfg: AugmentConfig) -> tf.Tensor:
    """Random erasing: a rectangle of each chosen image becomes uniform noise."""
    shape = tf.shape(images)
    batch, h, w = shape[0], shape[1], shape[2]
    hf, wf = tf.cast(h, tf.float32), tf.cast(w, tf.float32)
    area = tf.random.uniform([batch], cfg.erase_area[0], cfg.erase_area[1]) * hf * wf
    aspect = tf.exp(tf.random.uniform([batch], math.log(0.3), math.log(3.3)))
    eh = tf.minimum(tf.sqrt(area * aspect), hf)
    ew = tf.minimum(tf.sqrt(area / aspect), wf)
    y0 = tf.random.uniform([batch]) * (hf - eh)
    x0 = tf.random.uniform([batch]) * (wf - ew)
    ys = tf.range(hf)[None, :, None]
    xs = tf.range(wf)[None, None, :]
    inside = (
        (ys >= y0[:, None, None])
        & (ys < (y0 + eh)[:, None, None])
        & (xs >= x0[:, None, None])
        & (xs < (x0 + ew)[:, None, None])
    )
    chosen = tf.random.uniform([batch]) < cfg.erase_probability
    mask = (inside & chosen[:, None, None])[..., None]
    return tf.where(mask, tf.random.uniform(shape), images)


def augment_batch(images: tf.Tensor, cfg: AugmentConfig) -> tf.Tensor:
    """Augments a float batch ``(B, H, W, 1)`` in [0, 1]; returns the same shape and range."""
    batch = tf.shape(images)[0]
    if cfg.flip:
        flip = tf.random.uniform([batch, 1, 1, 1]) < 0.5
        images = tf.where(flip, tf.reverse(images, axis=[2]), images)
    if cfg.max_rotation_deg or cfg.max_shift or cfg.scale != (1.0, 1.0):
        images = _affine(images, cfg)
    if cfg.brightness or cfg.contrast != (1.0, 1.0):
        contrast = tf.random.uniform([batch, 1, 1, 1], cfg.contrast[0], cfg.contrast[1])
        bright = tf.random.uniform([batch, 1, 1, 1], -cfg.brightness, cfg.brightness)
        mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
        images = (images - mean) * contrast + mean + bright
    if cfg.erase_probability:
        images = _erase(images, cfg)
    return tf.clip_by_value(images, 0.0, 1.0)
