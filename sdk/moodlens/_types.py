"""Result types every part of moodlens speaks: Emotion, Box, Face, MoodReading, MoodChange.

All are frozen, slotted dataclasses (or enums/named tuples) validated on
creation; scores keep full float precision. ``to_dict()`` gives JSON-ready data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from types import MappingProxyType
from typing import Any, NamedTuple


class Emotion(str, Enum):
    """The seven FER2013 emotions, in FER2013's class order."""

    ANGRY = "angry"
    DISGUST = "disgust"
    FEAR = "fear"
    HAPPY = "happy"
    SAD = "sad"
    SURPRISE = "surprise"
    NEUTRAL = "neutral"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: str | Emotion) -> Emotion:
        """Emotion from its value or name, case-insensitive.

        Raises:
            ValueError: not one of the seven emotions (the message lists them).
        """
        if isinstance(value, Emotion):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            names = ", ".join(e.value for e in cls)
            raise ValueError(f"unknown emotion {value!r}; expected one of {names}") from None


EMOTIONS: tuple[Emotion, ...] = tuple(Emotion)


class Box(NamedTuple):
    """A face box in pixels of the input image: top-left corner, width, height."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h

    def iou(self, other: Box) -> float:
        """Intersection over union with another box (0 when disjoint)."""
        ix = max(0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0


def _scores_mapping(scores: Mapping[Emotion, float] | Any, where: str) -> Mapping[Emotion, float]:
    try:
        items = {Emotion.parse(k): float(v) for k, v in dict(scores).items()}
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: scores must map emotions to numbers ({exc})") from None
    if set(items) != set(EMOTIONS):
        missing = ", ".join(e.value for e in EMOTIONS if e not in items)
        raise ValueError(f"{where}: scores need all seven emotions; missing {missing}")
    total = sum(items.values())
    if not all(math.isfinite(v) and v >= 0.0 for v in items.values()) or abs(total - 1.0) > 1e-3:
        raise ValueError(f"{where}: scores must be non-negative and sum to 1, got sum {total:.6f}")
    return MappingProxyType({e: items[e] for e in EMOTIONS})


def _top(scores: Mapping[Emotion, float]) -> tuple[Emotion, float]:
    emotion = max(EMOTIONS, key=lambda e: scores[e])
    return emotion, scores[emotion]


@dataclass(frozen=True, slots=True)
class Face:
    """One detected face: its box and its emotion scores.

    Attributes:
        box: (x, y, w, h) in pixels of the input image.
        scores: probability of each Emotion, full precision, summing to 1.
        emotion: the highest-scoring Emotion.
        confidence: the winning score.
        score: the face finder's confidence that this is a face, in [0, 1]; None when the
            finder gives none (the Haar cascade) or the box was passed in.
        keypoints: six (x, y) points in pixels of the input image from the face finder
            (eye, eye, nose tip, mouth, ear tragion, ear tragion, the eyes left to right
            in the image for a frontal face); None when the finder gives none.
    """

    box: Box
    scores: Mapping[Emotion, float]
    emotion: Emotion = field(init=False)
    confidence: float = field(init=False)
    score: float | None = None
    keypoints: tuple[tuple[float, float], ...] | None = None

    def __post_init__(self) -> None:
        try:
            box = Box(*(int(v) for v in self.box))
        except (TypeError, ValueError):
            raise ValueError(
                f"Face.box must be four integers (x, y, w, h), got {self.box!r}"
            ) from None
        if box.w <= 0 or box.h <= 0:
            raise ValueError(f"Face.box needs a positive width and height, got {tuple(box)}")
        object.__setattr__(self, "box", box)
        scores = _scores_mapping(self.scores, "Face")
        object.__setattr__(self, "scores", scores)
        emotion, confidence = _top(scores)
        object.__setattr__(self, "emotion", emotion)
        object.__setattr__(self, "confidence", confidence)
        if self.score is not None:
            score = float(self.score)
            if not 0.0 <= score <= 1.0:
                raise ValueError(f"Face.score must be in [0, 1] or None, got {self.score!r}")
            object.__setattr__(self, "score", score)
        if self.keypoints is not None:
            try:
                points = tuple((float(x), float(y)) for x, y in self.keypoints)
            except (TypeError, ValueError):
                raise ValueError(
                    f"Face.keypoints must be (x, y) pairs or None, got {self.keypoints!r}"
                ) from None
            object.__setattr__(self, "keypoints", points)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: box as a list, emotion as its value, scores by emotion value; the
        finder's score and keypoints (lists of [x, y]) or None."""
        return {
            "box": list(self.box),
            "emotion": self.emotion.value,
            "confidence": self.confidence,
            "scores": {e.value: s for e, s in self.scores.items()},
            "score": self.score,
            "keypoints": [list(p) for p in self.keypoints] if self.keypoints else None,
        }


@dataclass(frozen=True, slots=True)
class TrackedFace:
    """A face in a stream: its tracking id, this frame's raw Face, and the smoothed view.

    Attributes:
        face_id: stable id of the track across frames.
        face: this frame's detection and raw scores.
        smoothed: scores smoothed over time (half-life in seconds).
        mood: the steady (hysteresis-filtered) mood of this face, None until settled.
    """

    face_id: int
    face: Face
    smoothed: Mapping[Emotion, float]
    mood: Emotion | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "smoothed", _scores_mapping(self.smoothed, "TrackedFace"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "face_id": self.face_id,
            **self.face.to_dict(),
            "smoothed": {e.value: s for e, s in self.smoothed.items()},
            "mood": self.mood.value if self.mood else None,
        }


@dataclass(frozen=True, slots=True)
class MoodReading:
    """What the stream saw in one processed frame.

    Attributes:
        timestamp: seconds on the source's clock (video time, or monotonic for cameras).
        wall_time: when the frame was captured or processed (timezone-aware UTC).
        frame_index: index of the frame in the source.
        faces: the tracked faces of this frame.
        mood: the steady scene mood (main face), or None while unsettled / no face.
        scores: the main face's smoothed scores, or None when no face is tracked.
    """

    timestamp: float
    wall_time: datetime
    frame_index: int
    faces: tuple[TrackedFace, ...]
    mood: Emotion | None
    scores: Mapping[Emotion, float] | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.timestamp):
            raise ValueError(f"MoodReading.timestamp must be finite, got {self.timestamp!r}")
        if self.wall_time.tzinfo is None:
            raise ValueError("MoodReading.wall_time must be timezone-aware (use UTC)")
        object.__setattr__(self, "faces", tuple(self.faces))
        if self.scores is not None:
            object.__setattr__(self, "scores", _scores_mapping(self.scores, "MoodReading"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "timestamp": self.timestamp,
            "wall_time": self.wall_time.isoformat(),
            "frame_index": self.frame_index,
            "faces": [f.to_dict() for f in self.faces],
            "mood": self.mood.value if self.mood else None,
            "scores": {e.value: s for e, s in self.scores.items()} if self.scores else None,
        }


@dataclass(frozen=True, slots=True)
class MoodChange:
    """The steady mood of a face (or of the scene, ``face_id is None``) changed.

    Attributes:
        face_id: the track whose mood changed, or None for the scene mood.
        previous: the mood before (None when the first mood settles).
        current: the new steady mood (None when the face is gone).
        at: timestamp on the source's clock, as in MoodReading.timestamp.
        wall_time: timezone-aware UTC time of the change.
        confidence: smoothed score of ``current`` when it settled.
    """

    face_id: int | None
    previous: Emotion | None
    current: Emotion | None
    at: float
    wall_time: datetime
    confidence: float

    def __post_init__(self) -> None:
        if self.previous == self.current:
            raise ValueError(f"MoodChange needs two different moods, got {self.current} twice")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"MoodChange.confidence must be in [0, 1], got {self.confidence}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "face_id": self.face_id,
            "previous": self.previous.value if self.previous else None,
            "current": self.current.value if self.current else None,
            "at": self.at,
            "wall_time": self.wall_time.isoformat(),
            "confidence": self.confidence,
        }


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """Given to plugins when a stream starts.

    Attributes:
        source: a human description of the source ("camera 0", "clip.mp4", "frames").
        started_at: timezone-aware UTC start time.
        fps: the source's nominal frame rate, when known.
    """

    source: str
    started_at: datetime
    fps: float | None = None


@dataclass(frozen=True, slots=True)
class StreamSummary:
    """Given to plugins when a stream stops, however it stopped.

    Attributes:
        reason: "end" (source exhausted), "closed", "interrupted" (Ctrl-C) or "error".
        frames: frames processed.
        duration: seconds on the source's clock from first to last frame.
        stopped_at: timezone-aware UTC stop time.
    """

    reason: str
    frames: int
    duration: float
    stopped_at: datetime
