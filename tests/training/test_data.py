"""Data loaders: FER2013 CSV (plain and gzip), FER+ labels, image folders, malformed input."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moodlens_training import DataError, load_fer2013_csv, load_image_folder
from moodlens_training._data import attach_ferplus, load_ferplus_votes


def _row(emotion: int, value: int = 7, usage: str = "Training", n: int = 2304) -> str:
    return f'{emotion},"{" ".join([str(value)] * n)}",{usage}\n'


def _write(path, rows, header="emotion,pixels,Usage\n", gz=False):
    text = header + "".join(rows)
    if gz:
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_reads_splits_labels_and_pixels(tmp_path, gz):
    rows = [_row(3, 10), _row(0, 20), _row(6, 30, "PublicTest"), _row(2, 40, "PrivateTest")]
    path = _write(tmp_path / ("f.csv.gz" if gz else "f.csv"), rows, gz=gz)
    data = load_fer2013_csv(path)
    assert sorted(data) == ["PrivateTest", "PublicTest", "Training"]
    assert data["Training"].labels.tolist() == [3, 0]
    assert data["Training"].images.shape == (2, 48, 48)
    assert data["Training"].images.dtype == np.uint8
    assert data["PublicTest"].images[0, 0, 0] == 30
    assert data["PublicTest"].rows.tolist() == [2]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([_row(3), _row(9)], "data row 1: emotion 9 is out of range"),
        ([_row(3), _row(3, n=100)], "data row 1: expected 2304 pixel values"),
        ([_row(3, value=300)], "data row 0: expected 2304 pixel values in 0-255"),
        (['x,"1 2",Training\n'], "data row 0 .*malformed"),
        ([_row(3, usage="Holdout")], "unknown Usage 'Holdout'"),
    ],
)
def test_malformed_rows_are_named(tmp_path, rows, message):
    with pytest.raises(DataError, match=message):
        load_fer2013_csv(_write(tmp_path / "bad.csv", rows))


def test_wrong_header_and_missing_file(tmp_path):
    with pytest.raises(DataError, match="header"):
        load_fer2013_csv(_write(tmp_path / "h.csv", [_row(1)], header="label,image\n"))
    with pytest.raises(DataError, match="no such file"):
        load_fer2013_csv(tmp_path / "none.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        load_fer2013_csv(tmp_path / "empty.csv")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("photo.jpg", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4, "not a UTF-8 text file"),
        ("faces.csv.gz", b"not gzip at all", "a broken gzip file"),
        ("cut.csv.gz", gzip.compress(b"emotion,pixels,Usage\n" * 50)[:30], "a broken gzip file"),
    ],
    ids=["binary", "not-gzip", "truncated-gzip"],
)
def test_a_file_that_is_not_a_csv_is_a_data_error(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as error:
        load_fer2013_csv(path)
    assert "fer2013.csv" in str(error.value)


@settings(max_examples=30, deadline=None)
@given(st.text(alphabet='0123456789 ,-x"\n', max_size=200))
def test_garbage_csv_never_crashes_deep(tmp_path_factory, body):
    path = tmp_path_factory.mktemp("g") / "g.csv"
    path.write_text("emotion,pixels,Usage\n" + body)
    try:
        load_fer2013_csv(path)
    except DataError:
        pass


def test_ferplus_majority_and_soft(tmp_path):
    path = _write(tmp_path / "f.csv", [_row(0), _row(3), _row(4)])
    faces = load_fer2013_csv(path)["Training"]
    votes_csv = tmp_path / "fer2013new.csv"
    votes_csv.write_text(
        "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"
        "Training,a.png,0,0,0,0,8,0,2,0,0,0\n"
        "Training,b.png,6,4,0,0,0,0,0,0,0,0\n"
        "Training,c.png,0,0,0,0,0,0,0,0,0,10\n"
    )
    votes = load_ferplus_votes(votes_csv)
    hard = attach_ferplus(faces, votes, "majority")
    assert hard.labels.tolist() == [0, 6, 4]  # the NF row keeps its FER2013 label
    soft = attach_ferplus(faces, votes, "soft")
    np.testing.assert_allclose(soft.soft_labels[1, [3, 6]], [0.4, 0.6])
    np.testing.assert_allclose(soft.soft_labels.sum(1), 1.0)


def test_image_folder_layout(tmp_path):
    import cv2

    for split, cls, value in [
        ("train", "happy", 200),
        ("train", "sad", 50),
        ("test", "happy", 190),
    ]:
        folder = tmp_path / split / cls
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / "a.png"), np.full((96, 96, 3), value, np.uint8))
    data = load_image_folder(tmp_path)
    assert data["Training"].labels.tolist() == [3, 4]
    assert data["Training"].images.shape == (2, 48, 48)
    assert data["PublicTest"].labels.tolist() == [3]
    (tmp_path / "train" / "bored").mkdir()
    with pytest.raises(DataError, match="unknown class folder"):
        load_image_folder(tmp_path)


def test_shared_fer2013_matches_its_readme(fer_csv):
    data = load_fer2013_csv(fer_csv)
    assert len(data["Training"]) == 28709 and len(data["PublicTest"]) == 3589
    assert data["PublicTest"].class_counts().tolist() == [467, 56, 496, 895, 653, 415, 607]
