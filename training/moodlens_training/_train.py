"""The training loop: tf.data + Keras fit, a checkpoint every epoch, resumable.

A run folder holds ``config.json`` (everything the exporter needs), ``last.keras``
(model + optimiser state, every epoch), ``best.keras`` (best Validation accuracy),
``state.json`` (epochs done, best so far) and ``log.csv``.

Selection is honest: epochs are chosen on the Validation split (carved from
Training, see ``with_validation``); PublicTest is never read here. A seed makes
a run repeatable: each epoch's order and each step's augmentation are stateless
functions of (seed, epoch) and (seed, step), so ``--resume`` continues exactly.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ._data import LABELS, VALIDATION, FaceSet

logger = logging.getLogger(__name__)

#: Per side, as a fraction of the face box: FER2013's framing measured against the
#: OpenCV frontal Haar cascade (median image/box side ratio 1.02 over 2,306 training
#: faces: python -m moodlens_training.margin), so a detector box needs ~1% per side.
FER2013_CROP_MARGIN = 0.01
#: What ``--arch`` accepts (``_models.ARCHITECTURES`` builds them; a test keeps both equal).
ARCHITECTURE_NAMES = ("vgg", "vgg_small", "mini_xception", "xception_mid", "xception_wide")


@dataclass
class TrainConfig:
    """Everything that defines a run; saved as ``config.json`` in the run folder."""

    architecture: str = "vgg"
    epochs: int = 60
    batch_size: int = 128
    learning_rate: float = 0.05
    warmup_epochs: int = 2
    momentum: float = 0.9
    label_smoothing: float = 0.1
    seed: int = 1
    mixed_bfloat16: bool = True
    patience: int = 0  # early stop on Validation after this many epochs without gain; 0: off
    limit: int = 0  # use only this many training faces (smoke tests); 0: all
    data: str = ""
    ferplus: str = ""
    ferplus_mode: str = ""
    crop_margin: float = FER2013_CROP_MARGIN
    teacher: str = ""  # distillation: the model whose scores are soft targets
    teacher_weight: float = 0.7
    balance: float = 0.0  # class-balanced sampling: P(face) ~ count(class) ** -balance; 0: off
    mean: float = 0.0
    std: float = 1.0
    commit: str = ""
    train_size: int = 0
    val_size: int = 0
    selection_split: str = VALIDATION
    extra: dict = field(default_factory=dict)


def source_commit() -> str:
    """The commit of the moodlens source tree this code runs from, ``+dirty`` if edited.

    Read from the folder of this package, not the current folder, so a run started
    elsewhere still records the code that trained it; ``unknown`` outside a checkout.
    """
    here = str(Path(__file__).resolve().parent)

    def git(*args: str) -> str:
        out = subprocess.run(
            ["git", "-C", here, *args], capture_output=True, text=True, timeout=10, check=False
        )
        return out.stdout.strip() if out.returncode == 0 else ""

    try:
        commit = git("rev-parse", "--short", "HEAD")
        if not commit:
            return "unknown"
        return commit + ("+dirty" if git("status", "--porcelain", "--", ".") else "")
    except OSError:
        return "unknown"


def _targets(faces: FaceSet) -> np.ndarray:
    if faces.soft_labels is not None:
        return faces.soft_labels
    return np.eye(len(LABELS), dtype=np.float32)[faces.labels]


def _normalise(x, cfg: TrainConfig):
    import tensorflow as tf

    return (tf.cast(x, tf.float32) / 255.0 - cfg.mean) / cfg.std


def training_dataset(faces: FaceSet, cfg: TrainConfig, epoch: int | Callable[[], int]):
    """One epoch of augmented batches; repeatable from (seed, epoch) alone.

    ``epoch`` is an int, or a callable read when iteration starts (Keras makes a new
    iterator each epoch; a callback moves the epoch on first). Epoch ``e`` visits the
    faces in an order seeded by (seed, e); its step ``s`` (counted from the run's
    start) is augmented with seed (seed, s). So a resumed run sees exactly the
    batches the uninterrupted run would have seen.

    Batches are cut in numpy by a generator (index order and batch contents stay in
    numpy; TensorFlow only augments).

    With ``cfg.balance`` > 0 an epoch draws its faces with replacement, each with a
    probability proportional to ``count(its class) ** -balance``: 1 makes every class
    equally likely, 0.5 (square root) is halfway in log terms. It targets the rare classes
    (disgust, fear) at some cost to the frequent ones.
    """
    import tensorflow as tf

    from ._augment import AugmentConfig, augment_batch

    targets = _targets(faces).astype(np.float32)
    n, size = len(faces), cfg.batch_size
    steps = int(np.ceil(n / size))
    augment = AugmentConfig()

    draw = None
    if cfg.balance:
        counts = np.bincount(faces.labels, minlength=len(LABELS)).astype(np.float64)
        draw = np.maximum(counts, 1.0)[faces.labels] ** -cfg.balance
        draw /= draw.sum()

    def batches():
        e = int(epoch() if callable(epoch) else epoch)
        rng = np.random.default_rng([cfg.seed, e])
        order = rng.permutation(n) if draw is None else rng.choice(n, size=n, p=draw)
        # The last batch is filled up from the start of the order, so every batch is
        # full: full-size fp32 runs segfaulted in TensorFlow on the 109-face last batch.
        order = np.concatenate([order, order[: steps * size - n]])
        for i in range(steps):
            index = order[i * size : (i + 1) * size]
            yield e * steps + i, faces.images[index][..., None], targets[index]

    h, w = faces.images.shape[1:3]
    signature = (
        tf.TensorSpec((), tf.int64),
        tf.TensorSpec((None, h, w, 1), tf.uint8),
        tf.TensorSpec((None, targets.shape[1]), tf.float32),
    )

    def prepare(step, images, labels):
        x = tf.cast(images, tf.float32) / 255.0
        x = augment_batch(x, augment, tf.stack([tf.constant(cfg.seed, tf.int64), step]))
        return (x - cfg.mean) / cfg.std, labels

    ds = tf.data.Dataset.from_generator(batches, output_signature=signature)
    return ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def evaluation_dataset(faces: FaceSet, cfg: TrainConfig):
    """Un-augmented, normalised batches in file order (Validation, tests)."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((faces.images[..., None], _targets(faces)))
    ds = ds.batch(cfg.batch_size).map(lambda x, y: (_normalise(x, cfg), y))
    return ds.prefetch(tf.data.AUTOTUNE)


class _EpochState:
    """Keras callback pieces: save last/best every epoch and keep state.json."""

    def __init__(self, run: Path, best: float, seconds: float):
        self.run, self.best, self.seconds = run, best, seconds

    def callback(self):
        import keras

        outer = self

        class SaveEachEpoch(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self._started = time.time()

            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                acc = float(logs.get("val_accuracy", 0.0))
                self.model.save(outer.run / "last.keras")
                if acc > outer.best:
                    outer.best = acc
                    self.model.save(outer.run / "best.keras")
                outer.seconds += time.time() - self._started
                state = {
                    "epochs_done": epoch + 1,
                    "best_val_accuracy": outer.best,
                    "last_val_accuracy": acc,
                    "train_seconds": outer.seconds,
                    "time": time.time(),
                }
                (outer.run / "state.json").write_text(json.dumps(state, indent=2))

        return SaveEachEpoch()


def train(
    cfg: TrainConfig,
    faces: dict[str, FaceSet],
    run: Path,
    *,
    resume: bool = False,
    verbose: int = 1,
) -> dict:
    """Trains (or resumes) a run in ``run``; returns the final state.

    ``faces`` needs Training and Validation splits (``with_validation`` carves the
    latter from Training); any test split is ignored.

    Raises:
        ValueError: no Training or Validation split, or a resume without a checkpoint.
    """
    import keras
    import tensorflow as tf

    from ._models import build_model

    run.mkdir(parents=True, exist_ok=True)
    if "Training" not in faces or VALIDATION not in faces:
        raise ValueError(
            f"the data set needs a Training and a {VALIDATION} split (moodlens_training."
            f"with_validation carves one from Training); found {', '.join(faces) or 'none'}."
        )
    train_set, val_set = faces["Training"], faces[VALIDATION]
    if resume:
        if not (run / "last.keras").is_file():
            raise ValueError(f"{run}: nothing to resume (no last.keras); start without --resume.")
        cfg = TrainConfig(**json.loads((run / "config.json").read_text()))
    if cfg.limit:
        rng = np.random.default_rng(cfg.seed)
        train_set = train_set.subset(np.sort(rng.permutation(len(train_set))[: cfg.limit]))
    if not resume:
        pixels = train_set.images.astype(np.float32) / 255.0
        cfg.mean, cfg.std = float(pixels.mean()), float(pixels.std())
        cfg.commit = source_commit()
        cfg.train_size, cfg.val_size = len(train_set), len(val_set)
        (run / "config.json").write_text(json.dumps(asdict(cfg), indent=2))

    keras.utils.set_random_seed(cfg.seed)
    tf.config.experimental.enable_op_determinism()
    if cfg.mixed_bfloat16:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    steps = int(np.ceil(len(train_set) / cfg.batch_size))
    state = {"epochs_done": 0, "best_val_accuracy": 0.0}
    if resume:
        state = json.loads((run / "state.json").read_text())
        model = keras.models.load_model(run / "last.keras")
    else:
        model = build_model(cfg.architecture)
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=cfg.learning_rate * 0.1,
            decay_steps=max(1, (cfg.epochs - cfg.warmup_epochs) * steps),
            warmup_target=cfg.learning_rate,
            warmup_steps=cfg.warmup_epochs * steps,
            alpha=0.0,
        )
        model.compile(
            optimizer=keras.optimizers.SGD(schedule, momentum=cfg.momentum, nesterov=True),
            loss=keras.losses.CategoricalCrossentropy(
                from_logits=True, label_smoothing=cfg.label_smoothing
            ),
            metrics=["accuracy"],
        )
    logger.info(
        "%s: %d parameters, %d training / %d validation faces, %d steps per epoch",
        cfg.architecture,
        model.count_params(),
        len(train_set),
        len(val_set),
        steps,
    )
    saver = _EpochState(
        run, float(state["best_val_accuracy"]), float(state.get("train_seconds", 0.0))
    )
    current = [int(state["epochs_done"])]

    class SetEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, e, logs=None):
            current[0] = e

    callbacks = [
        SetEpoch(),
        saver.callback(),
        keras.callbacks.CSVLogger(str(run / "log.csv"), append=resume),
    ]
    if cfg.patience:
        callbacks.append(
            keras.callbacks.EarlyStopping("val_accuracy", patience=cfg.patience, mode="max")
        )
    tf.get_logger().setLevel("ERROR")
    try:
        model.fit(
            training_dataset(train_set, cfg, lambda: current[0]),
            validation_data=evaluation_dataset(val_set, cfg),
            epochs=cfg.epochs,
            initial_epoch=int(state["epochs_done"]),
            callbacks=callbacks,
            verbose=verbose,
        )
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return json.loads((run / "state.json").read_text())
