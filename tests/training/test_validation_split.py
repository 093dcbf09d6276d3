"""The Validation split: stratified, fixed, disjoint from Training; FER+ never relabels it."""

from __future__ import annotations

import numpy as np
import pytest
from moodlens_training import (
    VALIDATION,
    DataError,
    FaceSet,
    split_validation,
    with_validation,
)


def _faces(counts):
    labels = np.concatenate([np.full(n, k) for k, n in enumerate(counts)]).astype(np.int64)
    n = len(labels)
    images = (np.arange(n)[:, None, None] % 256 * np.ones((1, 48, 48))).astype(np.uint8)
    return FaceSet(images, labels, np.arange(n, dtype=np.int64))


def test_split_is_stratified_disjoint_complete_and_fixed():
    faces = _faces([400, 40, 410, 720, 480, 320, 500])
    train, val = split_validation(faces)
    assert len(train) + len(val) == len(faces)
    assert not set(train.rows) & set(val.rows)
    np.testing.assert_array_equal(val.class_counts(), np.round(faces.class_counts() * 0.1))
    again = split_validation(faces)[1]
    np.testing.assert_array_equal(val.rows, again.rows)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_fraction_out_of_range_is_a_data_error(fraction):
    with pytest.raises(DataError, match="between 0 and 1"):
        split_validation(_faces([10] * 7), fraction=fraction)


def test_with_validation_keeps_a_given_split_and_needs_training():
    faces = {"Training": _faces([10] * 7), "PublicTest": _faces([2] * 7)}
    carved = with_validation(faces)
    assert set(carved) == {"Training", VALIDATION, "PublicTest"}
    assert carved["PublicTest"] is faces["PublicTest"]
    own = {**faces, VALIDATION: _faces([1] * 7)}
    assert with_validation(own)[VALIDATION] is own[VALIDATION]
    with pytest.raises(DataError, match="no Training split"):
        with_validation({"PublicTest": _faces([2] * 7)})


def test_image_folder_val_is_its_own_split_never_the_test(tmp_path):
    import cv2
    from moodlens_training import load_image_folder

    for split in ("train", "val", "test"):
        folder = tmp_path / split / "happy"
        folder.mkdir(parents=True)
        cv2.imwrite(str(folder / "a.png"), np.full((48, 48), 100, np.uint8))
    faces = load_image_folder(tmp_path)
    assert set(faces) == {"Training", VALIDATION, "PublicTest"}


def test_ferplus_relabels_training_only(tmp_path):
    """The CLI's loader: FER+ votes change Training labels, never Validation or PublicTest."""
    from moodlens_training._cli import _load

    rows = ["emotion,pixels,Usage"]
    votes = [
        "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"
    ]
    for i in range(140):
        usage = "Training" if i < 120 else "PublicTest"
        rows.append(f"0,{' '.join(['7'] * 2304)},{usage}")
        votes.append(f"{usage},x.png,0,10,0,0,0,0,0,0,0,0")  # FER+ says happy, FER2013 says angry
    data, fp = tmp_path / "f.csv", tmp_path / "fp.csv"
    data.write_text("\n".join(rows) + "\n")
    fp.write_text("\n".join(votes) + "\n")

    class Args:
        pass

    args = Args()
    args.data, args.ferplus, args.ferplus_mode = str(data), str(fp), "majority"
    faces = _load(args)
    assert set(faces["Training"].labels) == {3}
    assert set(faces[VALIDATION].labels) == {0}
    assert set(faces["PublicTest"].labels) == {0}


def test_teacher_targets_mix_the_teachers_scores_with_the_faces_own():
    from moodlens_training._data import attach_teacher

    faces = _faces([1, 1, 0, 0, 0, 0, 0])
    teacher = np.full((2, 7), 1 / 7, dtype=np.float32)
    mixed = attach_teacher(faces, teacher, 0.7)
    np.testing.assert_allclose(mixed.soft_labels[0], 0.7 / 7 + 0.3 * np.eye(7)[0], atol=1e-6)
    np.testing.assert_array_equal(mixed.labels, faces.labels)
    with pytest.raises(DataError, match="shape"):
        attach_teacher(faces, teacher[:1], 0.5)
    with pytest.raises(DataError, match="between 0 and 1"):
        attach_teacher(faces, teacher, 1.5)
