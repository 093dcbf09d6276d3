"""Training can fail visibly: a tiny model must learn an easy task, and a seed repeats a run."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="the train extra is not installed")


def _stripes(n: int, seed: int):
    """Class k = horizontal stripes with k + 2 periods: survives flips, jitter and contrast."""
    from moodlens_training import FaceSet

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 7, n)
    rows = np.arange(48)[None, :, None]
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
    wave = np.sin(2 * np.pi * (labels[:, None, None] + 2) * rows / 48 + phase)
    images = 128 + 90 * wave + rng.normal(0, 12, (n, 48, 48))
    images = np.broadcast_to(images, (n, 48, 48)).clip(0, 255).astype(np.uint8)
    return FaceSet(images, labels.astype(np.int64), np.arange(n))


@pytest.mark.slow
def test_a_tiny_model_beats_chance_clearly_on_an_easy_task(tmp_path):
    from moodlens_training import VALIDATION
    from moodlens_training._train import TrainConfig, train

    faces = {"Training": _stripes(1536, 0), VALIDATION: _stripes(256, 1)}
    cfg = TrainConfig(
        architecture="mini_xception",
        epochs=8,  # 8 x 24 = 192 steps
        batch_size=64,
        learning_rate=0.05,
        mixed_bfloat16=False,
        data="stripes",
    )
    state = train(cfg, faces, tmp_path / "run", verbose=0)
    # chance is 1/7 = 0.14; a broken loop, labels or augmentation stay near it
    assert state["best_val_accuracy"] > 0.6, state


def _epochs(faces, cfg, epochs):
    from moodlens_training._train import training_dataset

    return [[(x.numpy(), y.numpy()) for x, y in training_dataset(faces, cfg, e)] for e in epochs]


def test_a_seed_repeats_the_batches_and_resume_continues_them():
    from moodlens_training._train import TrainConfig, training_dataset

    faces = _stripes(200, 3)
    cfg = TrainConfig(epochs=3, batch_size=64, seed=7, mean=0.5, std=0.25)
    first, again = _epochs(faces, cfg, [0, 1, 2]), _epochs(faces, cfg, [0, 1, 2])
    assert [len(e) for e in first] == [4, 4, 4]  # ceil(200 / 64)
    assert {len(x) for e in first for x, _ in e} == {64}  # every batch full
    for ea, eb in zip(first, again, strict=True):
        for (xa, ya), (xb, yb) in zip(ea, eb, strict=True):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)
    # a resumed run makes a new dataset; epoch 2 comes out as in the uninterrupted run
    current = [0]
    dataset = training_dataset(faces, cfg, lambda: current[0])
    current[0] = 2
    for (xa, ya), (xb, yb) in zip(first[2], list(dataset), strict=True):
        np.testing.assert_array_equal(xa, xb.numpy())
        np.testing.assert_array_equal(ya, yb.numpy())
    # epochs differ in order and augmentation; another seed differs
    assert not np.array_equal(first[0][0][1], first[1][0][1])
    other = _epochs(faces, TrainConfig(batch_size=64, seed=8, mean=0.5, std=0.25), [0])
    assert not np.array_equal(first[0][0][0], other[0][0][0])


@pytest.mark.parametrize("balance", [0.0, 0.5, 1.0])
def test_balance_draws_rare_classes_more_often(balance):
    from moodlens_training import FaceSet
    from moodlens_training._train import TrainConfig

    # 7 classes with 400, 200, 100, 50, 25, 12 and 6 faces
    labels = np.repeat(np.arange(7), [400, 200, 100, 50, 25, 12, 6])
    images = np.zeros((len(labels), 8, 8), np.uint8)
    faces = FaceSet(images, labels, np.arange(len(labels)))
    cfg = TrainConfig(batch_size=793, seed=3, mean=0.0, std=1.0, balance=balance)
    drawn = np.concatenate([y.argmax(1) for e in _epochs(faces, cfg, range(12)) for _, y in e])
    share = np.bincount(drawn, minlength=7) / len(drawn)
    expected = np.bincount(labels) ** (1.0 - balance)
    np.testing.assert_allclose(share, expected / expected.sum(), atol=0.02)
    if balance == 0.0:  # off: each epoch is a permutation, every face once
        first = _epochs(faces, cfg, [0])[0][0][1].argmax(1)
        np.testing.assert_array_equal(np.bincount(first), np.bincount(labels))


def test_every_architecture_name_builds():
    from moodlens_training._models import ARCHITECTURES
    from moodlens_training._train import ARCHITECTURE_NAMES

    assert set(ARCHITECTURE_NAMES) == set(ARCHITECTURES)
