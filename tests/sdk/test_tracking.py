"""IoU tracking: ids stay with their faces, new faces get new ids, lost tracks end in time."""

from __future__ import annotations

import pytest
from moodlens import Box, OptionsError
from moodlens._tracking import IouTracker

A, B = Box(10, 10, 50, 50), Box(200, 20, 60, 60)


def moved(box: Box, dx: int, dy: int = 0) -> Box:
    return Box(box.x + dx, box.y + dy, box.w, box.h)


@pytest.mark.parametrize(
    ("name", "frames", "expected_ids"),
    [
        ("one face keeps its id", [[A], [moved(A, 5)], [moved(A, 10)]], [[1], [1], [1]]),
        ("two faces, order swapped", [[A, B], [moved(B, 3), moved(A, 3)]], [[1, 2], [2, 1]]),
        ("a jump too far is a new face", [[A], [moved(A, 45)]], [[1], [2]]),
        ("a new face joins", [[A], [A, B]], [[1], [1, 2]]),
        ("ids are never reused", [[A], [], [B], [A]], [[1], [], [2], [1]]),
    ],
)
def test_ids_follow_faces(name, frames, expected_ids):
    tracker = IouTracker(iou_threshold=0.3, lost_after=5.0)
    got = [[i for i, _ in tracker.update(boxes, t).assigned] for t, boxes in enumerate(frames)]
    assert got == expected_ids, name


def test_unseen_track_is_missed_then_ended_after_lost_after_seconds():
    tracker = IouTracker(lost_after=1.0)
    tracker.update([A], 0.0)
    first = tracker.update([], 0.5)
    assert first.missed == (1,) and first.ended == ()
    assert tracker.update([], 1.0).ended == ()  # exactly lost_after: still alive
    ended = tracker.update([], 1.2)
    assert ended.ended == (1,) and tracker.tracks == []
    assert tracker.update([A], 1.3).assigned[0][0] == 2


def test_greedy_matching_prefers_the_best_overlap():
    tracker = IouTracker(iou_threshold=0.1)
    tracker.update([Box(0, 0, 100, 100)], 0.0)
    update = tracker.update([Box(50, 0, 100, 100), Box(5, 0, 100, 100)], 0.1)
    assert [i for i, _ in update.assigned] == [2, 1]


@pytest.mark.parametrize("kwargs", [{"iou_threshold": 1.5}, {"lost_after": -1}])
def test_bad_options(kwargs):
    with pytest.raises(OptionsError, match=next(iter(kwargs))):
        IouTracker(**kwargs)
