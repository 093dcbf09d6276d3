"""Smoothing emotion scores over time, and the hysteresis that makes a mood steady.

Scores are smoothed with an exponential moving average whose weight depends on the
time between frames, not on their number: after ``half_life`` seconds an old value
counts for half. So a 10 fps and a 60 fps stream of the same scene give the same
smoothed scores at the same moment.

A steady mood changes only when another emotion leads the current mood by
``switch_margin`` for ``hold`` seconds, which keeps it from flickering between two
close emotions.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._types import EMOTIONS, Emotion


def as_vector(scores: Mapping[Emotion, float] | np.ndarray) -> np.ndarray:
    """Scores as a float64 vector in ``list(Emotion)`` order."""
    if isinstance(scores, np.ndarray):
        return scores.astype(np.float64).reshape(len(EMOTIONS))
    return np.array([scores[e] for e in EMOTIONS], dtype=np.float64)


def as_mapping(vector: np.ndarray) -> dict[Emotion, float]:
    """A score vector in ``list(Emotion)`` order as a dict by Emotion."""
    return {e: float(v) for e, v in zip(EMOTIONS, vector, strict=True)}


class ScoreSmoother:
    """Time-based exponential smoothing of one face's scores.

    Args:
        half_life: seconds after which a past frame counts for half; 0 disables smoothing.

    Raises:
        ValueError: a negative half-life.

    Example:
        >>> s = ScoreSmoother(half_life=1.0)
        >>> s.update(np.eye(7)[3], 0.0)[3], s.update(np.eye(7)[4], 1.0)[3]
        (1.0, 0.5)
    """

    def __init__(self, half_life: float = 0.5) -> None:
        if not half_life >= 0:
            raise ValueError(f"half_life must be >= 0 seconds, got {half_life}")
        self.half_life = float(half_life)
        self.value: np.ndarray | None = None
        self.timestamp: float | None = None

    def update(self, scores: Mapping[Emotion, float] | np.ndarray, timestamp: float) -> np.ndarray:
        """Folds in one frame's scores at ``timestamp``; returns the smoothed vector."""
        new = as_vector(scores)
        if self.value is None or self.timestamp is None:
            self.value = new / new.sum()
        else:
            dt = max(0.0, timestamp - self.timestamp)
            keep = 0.5 ** (dt / self.half_life) if self.half_life > 0 else 0.0
            mixed = keep * self.value + (1.0 - keep) * new
            self.value = mixed / mixed.sum()
        self.timestamp = timestamp if self.timestamp is None else max(timestamp, self.timestamp)
        return self.value.copy()


class SteadyMood:
    """Hysteresis over smoothed scores: the mood that holds, and when it changes.

    Args:
        min_confidence: a mood settles or switches only when its smoothed score is
            at least this.
        switch_margin: a new emotion must lead the current mood's smoothed score by this.
        hold: seconds the new emotion must keep leading before the mood switches (and
            before the first mood settles).

    Raises:
        ValueError: values outside [0, 1] or a negative hold.
    """

    def __init__(
        self, *, min_confidence: float = 0.4, switch_margin: float = 0.1, hold: float = 0.5
    ) -> None:
        if not (0.0 <= min_confidence <= 1.0 and 0.0 <= switch_margin <= 1.0):
            raise ValueError(
                "min_confidence and switch_margin must be in [0, 1], got "
                f"{min_confidence} and {switch_margin}"
            )
        if not hold >= 0:
            raise ValueError(f"hold must be >= 0 seconds, got {hold}")
        self.min_confidence, self.switch_margin, self.hold = min_confidence, switch_margin, hold
        self.mood: Emotion | None = None
        self.confidence = 0.0
        self._candidate: Emotion | None = None
        self._since = 0.0

    def update(self, smoothed: np.ndarray, timestamp: float) -> bool:
        """Considers one frame's smoothed scores; True when the steady mood changed."""
        top_index = int(np.argmax(smoothed))
        top, score = EMOTIONS[top_index], float(smoothed[top_index])
        if self.mood is None:
            eligible = score >= self.min_confidence
        else:
            lead = score - float(smoothed[EMOTIONS.index(self.mood)])
            eligible = top != self.mood and score >= self.min_confidence
            eligible = eligible and lead >= self.switch_margin
        if not eligible:
            self._candidate = None
            return False
        if self._candidate != top:
            self._candidate, self._since = top, timestamp
        if timestamp - self._since < self.hold:
            return False
        self.mood, self.confidence, self._candidate = top, min(1.0, score), None
        return True
