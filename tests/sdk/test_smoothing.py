"""Smoothing by time (half-life in seconds) and the hysteresis that keeps a mood steady."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moodlens import Emotion
from moodlens._smoothing import ScoreSmoother, SteadyMood

from ._stream_support import scores

E = list(Emotion)


def onehot(emotion: Emotion) -> np.ndarray:
    return np.eye(7)[E.index(emotion)]


simplex = (
    st.lists(st.floats(0.0, 1.0), min_size=7, max_size=7)
    .filter(lambda v: sum(v) > 0.01)
    .map(lambda v: np.array(v) / sum(v))
)
steps = st.lists(st.tuples(simplex, st.floats(0.0, 2.0)), min_size=1, max_size=40)


@given(steps, st.floats(0.0, 5.0))
@settings(max_examples=150, deadline=None)
def test_smoothed_scores_stay_a_distribution_within_the_inputs(seq, half_life):
    smoother, t = ScoreSmoother(half_life), 0.0
    seen = []
    for vector, dt in seq:
        t += dt
        seen.append(vector)
        out = smoother.update(vector, t)
        assert abs(out.sum() - 1.0) < 1e-9
        lo, hi = np.min(seen, axis=0), np.max(seen, axis=0)
        assert np.all(out >= lo - 1e-9) and np.all(out <= hi + 1e-9)


@given(simplex, st.lists(st.floats(0.0, 3.0), min_size=1, max_size=30), st.floats(0.0, 5.0))
@settings(max_examples=100, deadline=None)
def test_constant_scores_are_left_unchanged(vector, gaps, half_life):
    smoother, t = ScoreSmoother(half_life), 0.0
    for dt in gaps:
        t += dt
        np.testing.assert_allclose(smoother.update(vector, t), vector, atol=1e-12)


@given(st.integers(1, 120), st.integers(1, 120), st.floats(0.05, 3.0))
@settings(max_examples=100, deadline=None)
def test_the_frame_rate_does_not_change_the_smoothed_value(fps_a, fps_b, half_life):
    """A step from sad to happy, sampled at two rates: same value one second after the step."""

    def after_step(fps: int) -> np.ndarray:
        smoother = ScoreSmoother(half_life)
        smoother.update(onehot(Emotion.SAD), 0.0)
        for i in range(1, fps + 1):
            out = smoother.update(onehot(Emotion.HAPPY), i / fps)
        return out

    expected_sad = 0.5 ** (1.0 / half_life)
    for fps in (fps_a, fps_b):
        out = after_step(fps)
        assert out[E.index(Emotion.SAD)] == pytest.approx(expected_sad, abs=1e-9)


@pytest.mark.parametrize(
    ("half_life", "dt", "kept"),
    [(1.0, 1.0, 0.5), (1.0, 2.0, 0.25), (0.5, 1.0, 0.25), (2.0, 1.0, 2**-0.5), (0.0, 0.1, 0.0)],
)
def test_half_life_in_seconds(half_life, dt, kept):
    smoother = ScoreSmoother(half_life)
    smoother.update(onehot(Emotion.SAD), 10.0)
    out = smoother.update(onehot(Emotion.HAPPY), 10.0 + dt)
    assert out[E.index(Emotion.SAD)] == pytest.approx(kept)


def run_mood(sequence, **kwargs):
    """sequence: (timestamp, top emotion, p); returns (timestamp, mood) at each change."""
    steady, changes = SteadyMood(**kwargs), []
    for t, top, p in sequence:
        vector = np.array([scores(top, p)[e] for e in E])
        if steady.update(vector, t):
            changes.append((t, steady.mood))
    return changes


@pytest.mark.parametrize(
    ("name", "sequence", "options", "expected"),
    [
        (
            "settles after hold",
            [(i * 0.1, "happy", 0.6) for i in range(10)],
            {"hold": 0.5},
            [(0.5, Emotion.HAPPY)],
        ),
        (
            "hold 0 settles at once",
            [(0.0, "happy", 0.6)],
            {"hold": 0.0},
            [(0.0, Emotion.HAPPY)],
        ),
        (
            "too unsure never settles",
            [(i * 0.1, "happy", 0.3) for i in range(20)],
            {"min_confidence": 0.4},
            [],
        ),
        (
            "a brief blip does not switch",
            [(i * 0.1, "sad" if i in (8, 9) else "happy", 0.8) for i in range(20)],
            {"hold": 0.5},
            [(0.5, Emotion.HAPPY)],
        ),
        (
            "a lasting change switches once",
            [(i * 0.1, "sad" if i >= 10 else "happy", 0.8) for i in range(30)],
            {"hold": 0.5},
            [(0.5, Emotion.HAPPY), (1.5, Emotion.SAD)],
        ),
    ],
)
def test_steady_mood_table(name, sequence, options, expected):
    changes = run_mood(sequence, **options)
    assert [m for _, m in changes] == [m for _, m in expected], name
    for (t, _), (want, _) in zip(changes, expected, strict=True):
        assert t == pytest.approx(want), name


@given(
    st.lists(st.tuples(st.sampled_from(E), st.floats(0.15, 1.0)), min_size=1, max_size=60),
    st.floats(0.0, 0.5),
)
@settings(max_examples=150, deadline=None)
def test_a_close_second_never_takes_over(frames, margin):
    """Hysteresis: the mood only switches to an emotion leading it by the margin."""
    steady = SteadyMood(min_confidence=0.1, switch_margin=margin, hold=0.0)
    for i, (top, p) in enumerate(frames):
        vector = np.array([scores(top, p)[e] for e in E])
        before = steady.mood
        if steady.update(vector, float(i)):
            assert steady.mood == E[int(np.argmax(vector))]
            if before is not None:
                assert vector[E.index(steady.mood)] - vector[E.index(before)] >= margin - 1e-12
        else:
            assert steady.mood == before


@pytest.mark.parametrize(
    "kwargs",
    [{"min_confidence": 1.5}, {"switch_margin": -0.1}, {"hold": -1.0}],
)
def test_bad_options_raise(kwargs):
    with pytest.raises(ValueError):
        SteadyMood(**kwargs)


def test_negative_half_life_raises():
    with pytest.raises(ValueError, match="half_life"):
        ScoreSmoother(-1.0)
