"""Batch analysis, the table: a source's raw detections joined, tracked and smoothed.

The segments of a source come back from the workers in any order; here they are put
in frame order and run through the stream's own tracking and smoothing
(``_MoodEngine``: IoU tracks, time-based smoothing, steady mood), so ``face_id`` is one
track across segment borders and both engines give the same rows. pandas is imported
inside the functions: ``import moodlens`` stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ._analyze_inputs import LOST_AFTER_SAMPLES, AnalyzeOptions, Probe, Source
from ._analyze_worker import TaskResult
from ._types import EMOTIONS, Box, Face

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

EMOTION_COLUMNS: tuple[str, ...] = tuple(e.value for e in EMOTIONS)
#: The table's columns, in order.
COLUMNS: tuple[str, ...] = (
    "source",
    "frame",
    "timestamp",
    "face_id",
    "x",
    "y",
    "w",
    "h",
    "emotion",
    "confidence",
    *EMOTION_COLUMNS,
    "steady_emotion",
)
_INT_COLUMNS = ("frame", "face_id", "x", "y", "w", "h")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class SourceSummary:
    """One line of the per-source summary written beside the table.

    Attributes:
        source: the file.
        kind: "video" or "photo".
        status: "ok" or "failed".
        error: why it failed ("" when it did not).
        frames_read: frames decoded (or skipped over) in the file.
        frames_sampled: frames analysed.
        frames_with_faces: analysed frames with at least one face.
        faces: rows in the table (one per face per analysed frame).
        fps: the video's nominal frame rate (0 for photos and when unknown).
        duration: seconds of video read (frames_read / fps; 0 for photos).
        seconds: worker time spent on it.
    """

    source: str
    kind: str
    status: str
    error: str = ""
    frames_read: int = 0
    frames_sampled: int = 0
    frames_with_faces: int = 0
    faces: int = 0
    fps: float = 0.0
    duration: float = 0.0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def arrow_schema() -> pa.Schema:
    """The table's Arrow schema (explicit, so a part without faces has the same types)."""
    import pyarrow as pa

    fields = []
    for name in COLUMNS:
        if name in ("source", "emotion", "steady_emotion"):
            fields.append(pa.field(name, pa.string()))
        elif name in _INT_COLUMNS:
            fields.append(pa.field(name, pa.int64()))
        else:
            fields.append(pa.field(name, pa.float64()))
    return pa.schema(fields)


def empty_table() -> pd.DataFrame:
    """A table with the columns and types and no row."""
    return arrow_schema().empty_table().to_pandas()


def failed_summary(source: Source, error: str, fps: float | None = None) -> SourceSummary:
    return SourceSummary(source.path, source.kind, "failed", error, fps=fps or 0.0)


def build_source(
    source: Source, found: Probe, options: AnalyzeOptions, results: Sequence[TaskResult]
) -> tuple[pd.DataFrame, SourceSummary]:
    """Joins a source's Task results into its table and summary.

    A source with any failed segment is failed as a whole (no rows), so that ``--resume``
    analyses it again rather than keeping half of it.
    """
    results = sorted(results, key=lambda r: r.task.segment)
    fps = found.fps
    seconds = sum(r.seconds for r in results)
    errors = [r.error for r in results if r.error]
    if errors:
        where = "" if len(results) == 1 else f" (segment {results[0].task.segment})"
        summary = failed_summary(source, errors[0] + where, fps)
        return empty_table(), _with(summary, seconds=seconds)
    frames_read = sum(r.frames_read for r in results)
    rows = _rows(source, options, fps, results)
    table = _to_pandas(rows)
    sampled = sum(len(r.frames) for r in results)
    with_faces = sum(len(set(r.face_frames.tolist())) for r in results)
    is_photo = source.kind == "photo"
    summary = SourceSummary(
        source=source.path,
        kind=source.kind,
        status="ok",
        frames_read=frames_read,
        frames_sampled=sampled,
        frames_with_faces=with_faces,
        faces=len(rows),
        fps=0.0 if is_photo else float(fps or 0.0),
        duration=0.0 if is_photo or not fps else frames_read / fps,
        seconds=seconds,
    )
    return table, summary


def _to_pandas(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    # Through Arrow, so the table has the dtypes that reading the Parquet back gives.
    import pyarrow as pa

    if not rows:
        return empty_table()
    schema = arrow_schema()
    columns = zip(*rows, strict=True)
    arrays = [pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema).to_pandas()


def _with(summary: SourceSummary, **changes: Any) -> SourceSummary:
    return SourceSummary(**{**summary.to_dict(), **changes})


def _rows(
    source: Source, options: AnalyzeOptions, fps: float | None, results: Sequence[TaskResult]
) -> list[tuple[Any, ...]]:
    from ._stream import MoodStreamOptions, _MoodEngine

    interval = options.interval(fps) if source.kind == "video" else 1.0
    # A hair over N intervals, so that float timestamps do not end a track one sample early.
    lost_after = LOST_AFTER_SAMPLES * interval * (1.0 + 1e-6)
    engine = _MoodEngine(MoodStreamOptions(lost_after=lost_after))
    rate = fps or 30.0
    rows: list[tuple[Any, ...]] = []
    for result in results:
        faces_of: dict[int, list[Face]] = {}
        for position, box, scores in zip(
            result.face_frames, result.boxes, result.scores, strict=True
        ):
            face = Face(Box(*map(int, box)), dict(zip(EMOTIONS, map(float, scores), strict=True)))
            faces_of.setdefault(int(position), []).append(face)
        for position, frame in enumerate(result.frames.tolist()):
            timestamp = 0.0 if source.kind == "photo" else frame / rate
            reading, _ = engine.update(frame, timestamp, _EPOCH, faces_of.get(position, []))
            for tracked in reading.faces:
                face = tracked.face
                rows.append(
                    (
                        source.path,
                        frame,
                        timestamp,
                        tracked.face_id,
                        *face.box,
                        face.emotion.value,
                        face.confidence,
                        *(face.scores[e] for e in EMOTIONS),
                        tracked.mood.value if tracked.mood else None,
                    )
                )
    return rows


def summary_table(summaries: Sequence[SourceSummary]) -> pd.DataFrame:
    """The per-source summary as a DataFrame, one row per source, sorted by source."""
    import pandas as pd

    columns = list(SourceSummary.__dataclass_fields__)
    frame = pd.DataFrame([s.to_dict() for s in summaries], columns=columns)
    return frame.sort_values("source", kind="stable").reset_index(drop=True)
