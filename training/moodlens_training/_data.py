"""Face data sets: FER2013 CSV (optionally gzipped), FER+ labels, and image folders.

Everything is loaded into memory as uint8 arrays ``(N, 48, 48)`` with integer
labels in FER2013's class order; the tf.data pipeline augments per batch.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: FER2013's class order; the exporter writes it into the model's metadata.
LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
IMAGE_SIZE = 48
SPLITS = ("Training", "PublicTest", "PrivateTest")
#: The split that selects epochs, hyperparameters, ensemble weights and temperature:
#: carved from Training (stratified, fixed seed) unless the data set brings its own.
VALIDATION = "Validation"
VALIDATION_FRACTION = 0.1
VALIDATION_SEED = 20260101
# FER+ vote columns, in fer2013new.csv order, mapped to FER2013 classes (None: no FER2013 class).
_FERPLUS_COLUMNS = {
    "neutral": 6,
    "happiness": 3,
    "surprise": 5,
    "sadness": 4,
    "anger": 0,
    "disgust": 1,
    "fear": 2,
    "contempt": None,
    "unknown": None,
    "NF": None,
}
_FOLDER_SPLITS = {
    "train": "Training",
    "training": "Training",
    "test": "PublicTest",
    "val": VALIDATION,
    "validation": VALIDATION,
    "publictest": "PublicTest",
    "privatetest": "PrivateTest",
}
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".tif", ".tiff"}


class DataError(ValueError):
    """A data set file or folder is malformed; the message names the place."""


@dataclass(frozen=True)
class FaceSet:
    """Faces of one split: ``images`` (N, 48, 48) uint8, ``labels`` (N,) int64.

    ``soft_labels`` (N, 7) float32 holds per-class probabilities where they are
    known (FER+ votes), else None. ``rows`` are the source row numbers.
    """

    images: np.ndarray
    labels: np.ndarray
    rows: np.ndarray
    soft_labels: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, index: np.ndarray) -> FaceSet:
        soft = None if self.soft_labels is None else self.soft_labels[index]
        return FaceSet(self.images[index], self.labels[index], self.rows[index], soft)

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=len(LABELS))


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")  # noqa: SIM115


def _csv_rows(path: Path) -> Iterator[tuple[int, int, str, str]]:
    """Yields (row number, emotion, pixels, usage); row numbers count data rows from 0.

    Raises:
        DataError: the file is not a FER2013 CSV (binary, a broken .gz, a wrong header)
            or a row is malformed.
    """
    try:
        yield from _csv_rows_of_text(path)
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError, zlib.error) as exc:
        what = "a broken gzip file" if path.suffix == ".gz" else "not a UTF-8 text file"
        raise DataError(
            f"{path}: {what} ({exc.__class__.__name__}); pass FER2013's fer2013.csv or "
            "fer2013.csv.gz, or a folder of images (train/<class>/, test/<class>/)."
        ) from None


def _csv_rows_of_text(path: Path) -> Iterator[tuple[int, int, str, str]]:
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: the file is empty; expected a header 'emotion,pixels,Usage'.")
        names = [h.strip().lower() for h in header]
        try:
            i_emotion, i_pixels = names.index("emotion"), names.index("pixels")
        except ValueError:
            raise DataError(
                f"{path}: header is {header!r}; expected FER2013's 'emotion,pixels,Usage'."
            ) from None
        i_usage = names.index("usage") if "usage" in names else None
        for row_number, row in enumerate(reader):
            if not row:
                continue
            try:
                emotion = int(row[i_emotion])
                pixels = row[i_pixels]
                usage = row[i_usage].strip() if i_usage is not None else "Training"
            except (IndexError, ValueError):
                raise DataError(
                    f"{path}: data row {row_number} (line {row_number + 2}) is malformed: "
                    f"expected an integer emotion 0-6, 2304 pixel values and a Usage; "
                    f"got {row[:1]!r}..."
                ) from None
            yield row_number, emotion, pixels, usage


def load_fer2013_csv(path: str | Path, splits: tuple[str, ...] = SPLITS) -> dict[str, FaceSet]:
    """Reads a FER2013 ``fer2013.csv`` (or ``.csv.gz``) into one FaceSet per split.

    Raises:
        DataError: a missing file, a wrong header, or a malformed row (named by number).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; pass the path of fer2013.csv or fer2013.csv.gz.")
    per_split: dict[str, tuple[list[np.ndarray], list[int], list[int]]] = {}
    npix = IMAGE_SIZE * IMAGE_SIZE
    for row_number, emotion, pixels, usage in _csv_rows(path):
        if usage not in SPLITS:
            raise DataError(
                f"{path}: data row {row_number}: unknown Usage {usage!r}; "
                f"expected one of {', '.join(SPLITS)}."
            )
        if usage not in splits:
            continue
        if not 0 <= emotion < len(LABELS):
            raise DataError(
                f"{path}: data row {row_number}: emotion {emotion} is out of range 0-6."
            )
        values = np.array(pixels.split(), dtype=np.int64)  # parse wide, then range-check
        if values.size != npix or values.min(initial=0) < 0 or values.max(initial=0) > 255:
            raise DataError(
                f"{path}: data row {row_number}: expected {npix} pixel values in 0-255, "
                f"got {values.size} values."
            )
        images, labels, rows = per_split.setdefault(usage, ([], [], []))
        images.append(values.astype(np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE))
        labels.append(emotion)
        rows.append(row_number)
    result = {}
    for split, (images, labels, rows) in per_split.items():
        result[split] = FaceSet(
            np.stack(images), np.asarray(labels, dtype=np.int64), np.asarray(rows, dtype=np.int64)
        )
    if not result:
        raise DataError(f"{path}: no rows for splits {', '.join(splits)}.")
    return result


def load_ferplus_votes(path: str | Path) -> np.ndarray:
    """Reads Microsoft's ``fer2013new.csv``: (rows, 7) vote counts in FER2013 class order.

    Raises:
        DataError: a missing file or a malformed row.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; pass the path of FER+ fer2013new.csv.")
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]
        try:
            columns = {name: header.index(name) for name in _FERPLUS_COLUMNS}
        except ValueError:
            raise DataError(f"{path}: header {header!r} is not FER+'s fer2013new.csv.") from None
        votes = []
        for row_number, row in enumerate(reader):
            counts = np.zeros(len(LABELS), dtype=np.float32)
            try:
                for name, target in _FERPLUS_COLUMNS.items():
                    if target is not None:
                        counts[target] = float(row[columns[name]])
            except (IndexError, ValueError):
                raise DataError(
                    f"{path}: data row {row_number} has malformed vote counts."
                ) from None
            votes.append(counts)
    return np.stack(votes)


def attach_ferplus(faces: FaceSet, votes: np.ndarray, mode: str) -> FaceSet:
    """Replaces labels with FER+ ones: ``majority`` (hard) or ``soft`` (vote shares).

    Rows with no FER2013-class votes keep their original label.
    """
    if mode not in ("majority", "soft"):
        raise DataError(f"FER+ mode {mode!r}: expected 'majority' or 'soft'.")
    if faces.rows.max(initial=0) >= votes.shape[0]:
        raise DataError("FER+ file has fewer rows than the FER2013 file; are they row-aligned?")
    v = votes[faces.rows]
    total = v.sum(axis=1)
    known = total > 0
    labels = faces.labels.copy()
    labels[known] = v[known].argmax(axis=1)
    soft = np.eye(len(LABELS), dtype=np.float32)[faces.labels]
    if mode == "soft":
        soft[known] = v[known] / total[known, None]
        return FaceSet(faces.images, labels, faces.rows, soft)
    return FaceSet(faces.images, labels, faces.rows, None)


def attach_teacher(faces: FaceSet, probabilities: np.ndarray, weight: float) -> FaceSet:
    """Distillation targets: ``weight`` x the teacher's probabilities plus the rest of
    the faces' own targets (one-hot, or FER+ vote shares). Labels stay as they were.

    Raises:
        DataError: a shape mismatch or a weight outside [0, 1].
    """
    if probabilities.shape != (len(faces), len(LABELS)):
        raise DataError(
            f"teacher gave scores of shape {probabilities.shape} for {len(faces)} faces; "
            f"expected ({len(faces)}, {len(LABELS)})."
        )
    if not 0.0 <= weight <= 1.0:
        raise DataError(f"teacher weight {weight} must be between 0 and 1.")
    own = (
        faces.soft_labels
        if faces.soft_labels is not None
        else np.eye(len(LABELS), dtype=np.float32)[faces.labels]
    )
    soft = (weight * probabilities + (1.0 - weight) * own).astype(np.float32)
    return FaceSet(faces.images, faces.labels, faces.rows, soft)


def load_image_folder(root: str | Path) -> dict[str, FaceSet]:
    """Reads ``root/<split>/<class>/*.png|jpg`` (split: train/test/val) into FaceSets.

    Class folder names are matched to FER2013's labels case-insensitively
    (``angry``, ``Angry``, ``3_happy`` is not accepted). Images are converted to
    gray and resized to 48x48.

    Raises:
        DataError: no split folders, an unknown class folder, or an unreadable image.
    """
    import cv2

    root = Path(root)
    if not root.is_dir():
        raise DataError(
            f"{root}: no such folder; expected train/<class>/*.png and test/<class>/..."
        )
    result: dict[str, FaceSet] = {}
    for split_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        split = _FOLDER_SPLITS.get(split_dir.name.lower())
        if split is None:
            continue
        images, labels = [], []
        for class_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            name = class_dir.name.lower()
            if name not in LABELS:
                raise DataError(
                    f"{class_dir}: unknown class folder; expected one of {', '.join(LABELS)}."
                )
            for file in sorted(class_dir.iterdir()):
                if file.suffix.lower() not in _IMAGE_SUFFIXES:
                    continue
                image = cv2.imread(str(file), cv2.IMREAD_GRAYSCALE)
                if image is None:
                    raise DataError(f"{file}: not a readable image.")
                if image.shape != (IMAGE_SIZE, IMAGE_SIZE):
                    image = cv2.resize(
                        image, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA
                    )
                images.append(image)
                labels.append(LABELS.index(name))
        if images:
            result[split] = FaceSet(
                np.stack(images),
                np.asarray(labels, dtype=np.int64),
                np.arange(len(images), dtype=np.int64),
            )
    if not result:
        raise DataError(f"{root}: no train/ or test/ folders with class subfolders of images.")
    return result


def split_validation(
    faces: FaceSet, fraction: float = VALIDATION_FRACTION, seed: int = VALIDATION_SEED
) -> tuple[FaceSet, FaceSet]:
    """Splits ``faces`` into (train, validation), stratified by class, with a fixed seed.

    Each class gives ``round(fraction * n)`` of its faces (at least one when it has
    two or more), so the validation split has Training's class balance.

    Raises:
        DataError: ``fraction`` is not in (0, 1).
    """
    if not 0.0 < fraction < 1.0:
        raise DataError(f"validation fraction {fraction} must be between 0 and 1.")
    rng = np.random.default_rng(seed)
    held = []
    for label in range(len(LABELS)):
        members = np.flatnonzero(faces.labels == label)
        if members.size < 2:
            continue
        take = max(1, int(round(fraction * members.size)))
        held.append(rng.permutation(members)[:take])
    val_index = np.sort(np.concatenate(held)) if held else np.zeros(0, dtype=np.int64)
    keep = np.ones(len(faces), dtype=bool)
    keep[val_index] = False
    return faces.subset(np.flatnonzero(keep)), faces.subset(val_index)


def with_validation(faces: dict[str, FaceSet]) -> dict[str, FaceSet]:
    """Adds the Validation split (carved from Training) unless the data set has one.

    Raises:
        DataError: there is no Training split.
    """
    if VALIDATION in faces:
        return faces
    if "Training" not in faces:
        raise DataError(f"the data set has no Training split (found {', '.join(faces)}).")
    train, val = split_validation(faces["Training"])
    return {**faces, "Training": train, VALIDATION: val}


def load_faces(path: str | Path) -> dict[str, FaceSet]:
    """Loads a FER2013 CSV (``.csv``/``.csv.gz``) or an image-folder data set."""
    path = Path(path)
    if path.is_dir():
        return load_image_folder(path)
    return load_fer2013_csv(path)
