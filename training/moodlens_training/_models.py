"""Model definitions: ``vgg`` (accurate, ~1.8M parameters) and ``mini_xception`` (fast, ~60k).

Both take ``(48, 48, 1)`` normalised gray faces and return logits; the
exporter appends the softmax.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers

from ._data import IMAGE_SIZE, LABELS


def _conv_bn(x, filters: int, weight_decay: float, name: str):
    x = layers.Conv2D(
        filters,
        3,
        padding="same",
        use_bias=False,
        kernel_regularizer=keras.regularizers.l2(weight_decay),
        name=f"{name}_conv",
    )(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def build_vgg(
    weight_decay: float = 5e-4, widths: tuple[int, ...] = (32, 64, 128, 256), dropout: float = 0.4
) -> keras.Model:
    """VGG-style net: four blocks of two 3x3 convs, BN, ReLU, max-pool; a 256-unit head."""
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name="input")
    x = inputs
    for block, width in enumerate(widths, start=1):
        x = _conv_bn(x, width, weight_decay, f"b{block}a")
        x = _conv_bn(x, width, weight_decay, f"b{block}b")
        x = layers.MaxPooling2D(name=f"b{block}_pool")(x)
        x = layers.SpatialDropout2D(0.1 * block / len(widths), name=f"b{block}_drop")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(
        256, use_bias=False, kernel_regularizer=keras.regularizers.l2(weight_decay), name="fc"
    )(x)
    x = layers.BatchNormalization(name="fc_bn")(x)
    x = layers.Activation("relu", name="fc_relu")(x)
    x = layers.Dropout(dropout, name="fc_drop")(x)
    outputs = layers.Dense(len(LABELS), name="logits", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="vgg")


def _separable_bn(x, width: int, reg, conv_name: str, bn_name: str):
    x = layers.SeparableConv2D(
        width,
        3,
        padding="same",
        use_bias=False,
        depthwise_regularizer=reg,
        pointwise_regularizer=reg,
        name=conv_name,
    )(x)
    return layers.BatchNormalization(name=bn_name)(x)


def build_mini_xception(
    weight_decay: float = 1e-4,
    widths: tuple[int, ...] = (16, 32, 64, 128),
    stem: int = 8,
    dropout: float = 0.0,
) -> keras.Model:
    """Mini-Xception (Arriaga et al. 2017): depthwise-separable residual blocks, global pooling.

    ``widths``/``stem`` scale it: the defaults are the paper's ~60k-parameter net.
    """
    reg = keras.regularizers.l2(weight_decay)
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name="input")
    x = _conv_bn(inputs, stem, weight_decay, "stem1")
    x = _conv_bn(x, stem, weight_decay, "stem2")
    for i, width in enumerate(widths, start=1):
        shortcut = layers.Conv2D(
            width, 1, strides=2, padding="same", use_bias=False, name=f"x{i}_short"
        )(x)
        shortcut = layers.BatchNormalization(name=f"x{i}_short_bn")(shortcut)
        x = _separable_bn(x, width, reg, f"x{i}_sep1", f"x{i}_bn1")
        x = layers.Activation("relu", name=f"x{i}_relu")(x)
        x = _separable_bn(x, width, reg, f"x{i}_sep2", f"x{i}_bn2")
        x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"x{i}_pool")(x)
        x = layers.Add(name=f"x{i}_add")([x, shortcut])
    if dropout:
        x = layers.SpatialDropout2D(dropout, name="head_drop")(x)
    x = layers.Conv2D(len(LABELS), 3, padding="same", name="head_conv")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Activation("linear", name="logits", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="mini_xception")


def build_xception_mid() -> keras.Model:
    """A 2x wider mini-Xception (~0.2M parameters): the fast model's candidate."""
    return build_mini_xception(weight_decay=1e-4, widths=(32, 64, 128, 256), stem=16, dropout=0.1)


def build_xception_wide() -> keras.Model:
    """A 4x wider mini-Xception (~0.76M parameters)."""
    return build_mini_xception(weight_decay=1e-4, widths=(64, 128, 256, 512), stem=32, dropout=0.1)


def build_vgg_small() -> keras.Model:
    """The VGG-style net at half width (0.59M parameters): the fast model since 3.0.0-fast."""
    return build_vgg(widths=(16, 32, 64, 128), dropout=0.3)


ARCHITECTURES: dict[str, Callable[[], keras.Model]] = {
    "vgg": build_vgg,
    "vgg_small": build_vgg_small,
    "mini_xception": build_mini_xception,
    "xception_mid": build_xception_mid,
    "xception_wide": build_xception_wide,
}


def build_model(name: str) -> keras.Model:
    """Builds an architecture by name.

    Raises:
        ValueError: an unknown name (the message lists the known ones).
    """
    try:
        return ARCHITECTURES[name]()
    except KeyError:
        raise ValueError(
            f"unknown architecture {name!r}; choose one of {', '.join(ARCHITECTURES)}."
        ) from None
