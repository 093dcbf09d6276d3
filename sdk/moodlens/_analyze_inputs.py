"""Batch analysis, inputs: options, expanding files/folders/globs, and planning the work.

A source is one video or photo. Videos are split into segments of frames so that one
long video also keeps every worker busy; a Task is one segment (or one photo), the
unit an engine runs. Sampling is decided by frame index alone, so a segment samples
exactly the frames the whole video would, whatever the split.
"""

from __future__ import annotations

import glob
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2

from . import __version__
from ._errors import OptionsError
from ._sources import IMAGE_SUFFIXES

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp"}
)
# A track ends after this many sampled frames without its face: sparse sampling still tracks.
LOST_AFTER_SAMPLES = 3
# Segments shorter than this cost more in seeking and start-up than they win in balance.
_MIN_SEGMENT_FRAMES = 300
# Aim for this many segments per worker, so that uneven sources still balance.
_SEGMENTS_PER_WORKER = 4


@dataclass(frozen=True, slots=True)
class AnalyzeOptions:
    """What changes the table: recorded in every part, compared on ``--resume``.

    Attributes:
        every: analyse every N-th frame of a video (1 = every frame).
        fps: analyse this many frames per second of video instead (None: use ``every``).
        model: the emotion model file, None for the bundled one.
        face_finder: passed to ``EmotionDetector(face_finder=...)`` when not None.

    Raises:
        OptionsError: ``every`` below 1, a non-positive ``fps``, or both given.
    """

    every: int = 1
    fps: float | None = None
    model: str | None = None
    face_finder: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise OptionsError(f"every must be an integer >= 1, got {self.every!r}.")
        if self.fps is not None:
            if not (
                isinstance(self.fps, (int, float)) and math.isfinite(self.fps) and self.fps > 0
            ):
                raise OptionsError(f"fps must be a positive number of frames/s, got {self.fps!r}.")
            if self.every != 1:
                raise OptionsError("give either every (frames) or fps (per second), not both.")
            object.__setattr__(self, "fps", float(self.fps))
        if self.model is not None:
            object.__setattr__(self, "model", str(Path(self.model).expanduser().resolve()))

    def record(self) -> dict[str, Any]:
        """The options as stored in a part (with the moodlens version that wrote it)."""
        return {**asdict(self), "moodlens": __version__}

    def detector_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for EmotionDetector; face_finder only when given."""
        kwargs: dict[str, Any] = {"model": self.model}
        if self.face_finder is not None:
            kwargs["face_finder"] = self.face_finder
        return kwargs

    def sampled(self, index: int, video_fps: float | None) -> bool:
        """Whether frame ``index`` of a video is analysed."""
        if self.fps is None or not video_fps:
            return index % self.every == 0
        if self.fps >= video_fps:
            return True
        # The first frame of each 1/fps interval of video time.
        return index == 0 or math.floor(index * self.fps / video_fps) > math.floor(
            (index - 1) * self.fps / video_fps
        )

    def interval(self, video_fps: float | None) -> float:
        """Seconds between two sampled frames of a video (nominal)."""
        rate = video_fps or 30.0
        if self.fps is not None:
            return 1.0 / min(self.fps, rate)
        return self.every / rate


def options_difference(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Human lines for each option that differs between a part and this run."""
    keys = sorted(set(recorded) | set(current))
    return [
        f"{k}: {recorded.get(k)!r} in the part, {current.get(k)!r} now"
        for k in keys
        if recorded.get(k) != current.get(k)
    ]


@dataclass(frozen=True, slots=True)
class Source:
    """One input file: a video or a photo."""

    path: str
    kind: str  # "video" | "photo"


@dataclass(frozen=True, slots=True)
class Task:
    """One unit of work: frames ``[start, stop)`` of a video (stop None: to the end), or a photo.

    Attributes:
        source: the file, as the table names it.
        kind: "video" or "photo".
        options: how to sample and which detector to use.
        start: first frame of the segment.
        stop: frame after the last, None to read to the end.
        fps: the video's nominal frame rate (timestamps are frame / fps).
        segment: position of the segment in its source, from 0.
        segments: how many segments the source has.
    """

    source: str
    kind: str
    options: AnalyzeOptions
    start: int = 0
    stop: int | None = None
    fps: float | None = None
    segment: int = 0
    segments: int = 1


def _kind(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix in IMAGE_SUFFIXES:
        return "photo"
    return None


def expand_inputs(
    inputs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
) -> list[Source]:
    """Files, folders (recursive, by extension) and glob patterns as sorted unique Sources.

    A file named explicitly is taken whatever its extension (it is reported if it cannot
    be read); folders and globs keep only video and image extensions.

    Raises:
        OptionsError: nothing matched (the message lists the extensions looked for).
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    found: dict[str, Source] = {}
    unmatched: list[str] = []
    for item in inputs:
        text = os.fspath(item)
        path = Path(text).expanduser()
        before = len(found)
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                kind = _kind(p)
                if kind and p.is_file():
                    found.setdefault(str(p), Source(str(p), kind))
        elif path.is_file():
            found.setdefault(str(path), Source(str(path), _kind(path) or "video"))
        elif glob.has_magic(text):
            for match in sorted(glob.glob(os.path.expanduser(text), recursive=True)):
                p = Path(match)
                kind = _kind(p)
                if kind and p.is_file():
                    found.setdefault(str(p), Source(str(p), kind))
        if len(found) == before:
            unmatched.append(text)
    if not found:
        exts = ", ".join(sorted(VIDEO_SUFFIXES | IMAGE_SUFFIXES))
        raise OptionsError(
            f"no video or photo matched {', '.join(map(repr, unmatched)) or 'the inputs'}; "
            f"pass files, folders or glob patterns of videos and photos ({exts})."
        )
    return sorted(found.values(), key=lambda s: s.path)


@dataclass(frozen=True, slots=True)
class Probe:
    """What the header of a video says (no frame decoded): its rate and length."""

    fps: float | None
    frame_count: int | None
    error: str | None = None


def probe(source: Source) -> Probe:
    """The nominal frame rate and frame count of a video (None when unknown)."""
    if source.kind == "photo":
        return Probe(None, 1)
    capture = cv2.VideoCapture(source.path)
    try:
        if not capture.isOpened():
            return Probe(None, None, "OpenCV cannot open it; is it a complete video file?")
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        capture.release()
    return Probe(fps if 0.0 < fps < 1000.0 else None, count if count > 0 else None)


def segment_length(frame_counts: Sequence[int | None], workers: int) -> int:
    """Frames per segment: enough segments to keep ``workers`` busy, none too short."""
    total = sum(c or 0 for c in frame_counts)
    target = math.ceil(total / max(1, workers * _SEGMENTS_PER_WORKER))
    return max(_MIN_SEGMENT_FRAMES, target)


def plan_tasks(
    source: Source, found: Probe, options: AnalyzeOptions, frames_per_segment: int
) -> list[Task]:
    """The Tasks of one source: one per segment of a video, one for a photo."""
    if source.kind == "photo":
        return [Task(source.path, "photo", options)]
    count = found.frame_count
    if not count or count <= frames_per_segment:
        return [Task(source.path, "video", options, fps=found.fps)]
    n = math.ceil(count / frames_per_segment)
    size = math.ceil(count / n)
    return [
        Task(
            source.path,
            "video",
            options,
            start=i * size,
            # The last segment reads to the end: a header's frame count may be short.
            stop=None if i == n - 1 else (i + 1) * size,
            fps=found.fps,
            segment=i,
            segments=n,
        )
        for i in range(n)
    ]
