"""MoodStream: from a run of frames to a steady mood, delivered to plugins.

Per frame: find faces (near the known ones, the whole frame every few frames),
classify them, follow them with stable ids, smooth their scores over time,
and let a mood change only when it really changes. The scene mood is the mood
of the main face (the largest, kept while it stays comparably large).
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

import numpy as np

from ._errors import MoodlensError, OptionsError
from ._faces import to_frame
from ._plugin_manager import PluginManager, PluginSpec
from ._plugin_workers import PluginStats
from ._smoothing import ScoreSmoother, SteadyMood, as_mapping
from ._sources import Frame, FrameSource, SourceLike, open_source
from ._tracking import IouTracker, TrackUpdate
from ._types import (
    Box,
    Emotion,
    Face,
    MoodChange,
    MoodReading,
    StreamInfo,
    StreamSummary,
    TrackedFace,
)

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

# Another face must be this much larger than the main face to take over the scene.
_MAIN_FACE_LEAD = 1.5
# What StreamSummary.reason may say.
_REASONS = ("end", "closed", "interrupted", "error")


@dataclass(frozen=True, slots=True)
class MoodStreamOptions:
    """How a MoodStream finds, follows and smooths faces, and feeds plugins.

    Attributes:
        half_life: seconds after which a past frame's scores count for half. Larger is
            steadier and slower to react; 0 turns smoothing off.
        min_confidence: smoothed score an emotion needs to become (or replace) the mood.
        switch_margin: how far a new emotion's smoothed score must lead the current
            mood's before the mood may switch (hysteresis).
        hold: seconds the new emotion must keep that lead before the mood switches, and
            the first mood needs to settle.

        The defaults (0.3, 0.2, 0.25 s) were measured on the default model's own scores
        of jittered FER2013 Validation faces (``benchmarks/bench_mood_thresholds.py``):
        the most frames right among settings with at most 0.1 mood flickers a minute
        and a median follow within 1.5 s. Against the old 0.2 / 0.1 / 0.5 s: flicker
        0.08 vs 0.17 a minute, follow 0.93 vs 1.07 s, frames right 53.3% vs 52.4%.
        tracking: between full detections, search only near the faces already known
            (several times cheaper than searching the whole frame).
        detect_every: with tracking, search the whole frame every this many frames (new
            faces entering) and whenever a known face is not found near its last place.
        iou_threshold: least box overlap for a face to keep its id from the last frame.
        lost_after: seconds a face may go unseen before its track (and id) ends.
        rgb: frames from iterables are RGB rather than OpenCV's BGR.
        fps: image files and bare-array iterables: frames per second of stream time
            (default one image per second; the monotonic clock for iterables).
        realtime: video files: deliver frames at the video's own pace, like a camera.
        queue_size: readings a plugin may have pending before its oldest are coalesced.
        max_failures: failing calls in a row after which a plugin is disabled.
        stop_timeout: seconds stopping waits for plugins to finish their work.
        max_pending: mood changes a plugin may leave undelivered (its hook does not
            return) before it is disabled, so that memory stays bounded.
        pipeline: while iterating, classify each frame's faces on a second thread while
            the next frame's faces are found (with an EmotionDetector as the detector):
            1.1-1.4x the tracked frames per second on 2 cores with ``threads=1`` detectors
            (``benchmarks/bench_stream.py``; with ONNX Runtime's default threads the
            classifier takes both cores and the pipeline gains nothing). Each reading
            comes once the next frame is in (one frame later).

    Raises:
        OptionsError: an option out of range (the message names it); also a ValueError.
    """

    half_life: float = 0.5
    min_confidence: float = 0.3
    switch_margin: float = 0.2
    hold: float = 0.25
    tracking: bool = True
    detect_every: int = 10
    iou_threshold: float = 0.3
    lost_after: float = 1.0
    rgb: bool = False
    fps: float | None = None
    realtime: bool = False
    queue_size: int = 32
    max_failures: int = 3
    stop_timeout: float = 10.0
    max_pending: int = 10_000
    pipeline: bool = True

    def __post_init__(self) -> None:
        checks = {
            "half_life": self.half_life >= 0,
            "min_confidence": 0 <= self.min_confidence <= 1,
            "switch_margin": 0 <= self.switch_margin <= 1,
            "hold": self.hold >= 0,
            "detect_every": self.detect_every >= 1,
            "iou_threshold": 0 <= self.iou_threshold <= 1,
            "lost_after": self.lost_after >= 0,
            "fps": self.fps is None or self.fps > 0,
            "queue_size": self.queue_size >= 1,
            "max_failures": self.max_failures >= 1,
            "stop_timeout": self.stop_timeout >= 0,
            "max_pending": self.max_pending >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            values = ", ".join(f"{n}={getattr(self, n)!r}" for n in bad)
            raise OptionsError(
                f"MoodStreamOptions out of range: {values}. Seconds, counts and sizes must "
                "be non-negative (counts >= 1); scores and thresholds lie in [0, 1]."
            )


@dataclass(slots=True)
class _FaceState:
    smoother: ScoreSmoother
    steady: SteadyMood
    smoothed: np.ndarray | None = None
    area: int = 0


@dataclass(slots=True)
class _Job:
    """A frame whose faces are found and tracked: its scores now, or to come."""

    frame: Frame
    update: TrackUpdate
    faces: list[Face] | None = None
    future: Future[list[Face]] | None = None


@dataclass(slots=True)
class _MoodEngine:
    """Tracks, smoothing and moods for a sequence of (timestamp, faces); no I/O."""

    options: MoodStreamOptions
    tracker: IouTracker = field(init=False)
    faces: dict[int, _FaceState] = field(default_factory=dict)
    main_id: int | None = None
    scene_mood: Emotion | None = None

    def __post_init__(self) -> None:
        self.tracker = IouTracker(
            iou_threshold=self.options.iou_threshold, lost_after=self.options.lost_after
        )

    def track_boxes(self) -> list[Box]:
        return [t.box for t in self.tracker.tracks]

    def update(
        self, frame_index: int, timestamp: float, wall_time: datetime, faces: Sequence[Face]
    ) -> tuple[MoodReading, list[MoodChange]]:
        update = self.track([f.box for f in faces], timestamp)
        return self.score(update, frame_index, timestamp, wall_time, faces)

    def track(self, boxes: Sequence[Box], timestamp: float) -> TrackUpdate:
        """A frame's boxes to track ids: all the next frame's search needs (``score``
        follows, in frame order, once the faces are classified)."""
        return self.tracker.update(boxes, timestamp)

    def score(
        self,
        update: TrackUpdate,
        frame_index: int,
        timestamp: float,
        wall_time: datetime,
        faces: Sequence[Face],
    ) -> tuple[MoodReading, list[MoodChange]]:
        changes: list[MoodChange] = []
        tracked = []
        for (face_id, _), face in zip(update.assigned, faces, strict=True):
            state = self.faces.get(face_id) or self._new_face(face_id)
            before = state.steady.mood
            state.smoothed = state.smoother.update(face.scores, timestamp)
            state.area = face.box.area
            if state.steady.update(state.smoothed, timestamp):
                changes.append(
                    MoodChange(
                        face_id,
                        before,
                        state.steady.mood,
                        timestamp,
                        wall_time,
                        state.steady.confidence,
                    )
                )
            tracked.append(
                TrackedFace(face_id, face, as_mapping(state.smoothed), state.steady.mood)
            )
        for face_id in update.ended:
            gone = self.faces.pop(face_id, None)
            if gone is not None and gone.steady.mood is not None:
                changes.append(
                    MoodChange(face_id, gone.steady.mood, None, timestamp, wall_time, 0.0)
                )
        main = self._main_face()
        scene_mood = main.steady.mood if main else None
        if scene_mood != self.scene_mood:
            confidence = main.steady.confidence if main and scene_mood else 0.0
            changes.append(
                MoodChange(None, self.scene_mood, scene_mood, timestamp, wall_time, confidence)
            )
            self.scene_mood = scene_mood
        tracked.sort(key=lambda t: -t.face.box.area)
        reading = MoodReading(
            timestamp=timestamp,
            wall_time=wall_time,
            frame_index=frame_index,
            faces=tuple(tracked),
            mood=scene_mood,
            scores=as_mapping(main.smoothed) if main and main.smoothed is not None else None,
        )
        return reading, changes

    def finish(self, timestamp: float, wall_time: datetime) -> list[MoodChange]:
        """Ends every track (the stream stopped): each face and the scene that had a
        mood change to None, as when faces leave during the stream."""
        changes = []
        for face_id in self.tracker.end_all():
            state = self.faces.pop(face_id, None)
            if state is not None and state.steady.mood is not None:
                changes.append(
                    MoodChange(face_id, state.steady.mood, None, timestamp, wall_time, 0.0)
                )
        self.faces.clear()
        self.main_id = None
        if self.scene_mood is not None:
            changes.append(MoodChange(None, self.scene_mood, None, timestamp, wall_time, 0.0))
            self.scene_mood = None
        return changes

    def _new_face(self, face_id: int) -> _FaceState:
        opts = self.options
        state = _FaceState(
            ScoreSmoother(opts.half_life),
            SteadyMood(
                min_confidence=opts.min_confidence, switch_margin=opts.switch_margin, hold=opts.hold
            ),
        )
        self.faces[face_id] = state
        return state

    def _main_face(self) -> _FaceState | None:
        if not self.faces:
            self.main_id = None
            return None
        largest = max(self.faces, key=lambda i: self.faces[i].area)
        current = self.faces.get(self.main_id) if self.main_id is not None else None
        if current is None or self.faces[largest].area > _MAIN_FACE_LEAD * current.area:
            self.main_id = largest
        return self.faces[self.main_id]  # type: ignore[index]


@dataclass(frozen=True, slots=True)
class StreamStats:
    """Counters of a MoodStream, for logs and benchmarks.

    Attributes:
        frames: frames processed.
        full_detections: frames searched whole for faces.
        near_detections: frames searched only near known faces.
        plugins: each plugin's statistics.
        dropped_frames: camera frames skipped to stay live (a newer frame had arrived
            before the stream was ready); 0 for files and iterables, which give every frame.
        skipped_frames: frames the source could not read and left out (corrupt images).
    """

    frames: int
    full_detections: int
    near_detections: int
    plugins: tuple[PluginStats, ...]
    dropped_frames: int = 0
    skipped_frames: int = 0


class MoodStream:
    """A steady mood from a camera, a video, images or any iterable of frames.

    Iterate it for one MoodReading per frame; the enabled plugins get the same
    readings, the mood changes and the start and stop of the stream, each on its own
    thread. Use it in a ``with`` block (or call ``close()``) so that plugins always
    hear the stop, whatever ends the stream: the source's end, ``close()``, Ctrl-C or
    an exception in your code. ``close()`` may also come from another thread (a UI
    stopping a camera stream): the loop then ends after the frame in hand.

    A camera is read on a background thread and the stream always takes its newest
    frame, so a slow frame loop skips frames (``stats.dropped_frames``) rather than
    falling behind live. Video files give every frame, on the video's clock.

    Args:
        source: a camera index (0), a video file, an image file or folder, a list of
            image paths, any iterable of frames (uint8 arrays, ``(array, seconds)`` pairs
            or Frame objects), or a FrameSource.
        options: tracking, smoothing and plugin-delivery settings.
        detector: an EmotionDetector (or any object with ``find_faces`` and ``detect``);
            by default the stream creates one with the bundled model (one ONNX Runtime
            thread per model, for the pipeline) and closes it.
        plugins: installed plugin names and/or configured plugin instances to enable.
        plugin_settings: keyword arguments per plugin name, over the config file's.
        config: the TOML config file with plugin settings; None for the user's, False
            for none.

    Raises:
        SourceError: the source cannot be opened (while iterating: a frame that cannot
            be read, or a camera that failed).
        PluginError: a plugin cannot be found, imported or configured.
        ModelError: the default detector's model cannot be loaded.

    Attributes:
        last_reading: the reading of the last frame processed; None before the first.
        last_frame: the frame of ``last_reading`` (while iterating with the pipeline, the
            stream has read one frame further).
        last_changes: the mood changes of the last frame processed; once the stream has
            stopped, the final ones (each face still in view, and the scene, to None).

    Example:
        >>> from moodlens import MoodStream
        >>> with MoodStream("clip.mp4", plugins=["mood-journal"]) as stream:
        ...     for reading in stream:
        ...         print(reading.timestamp, reading.mood)
    """

    def __init__(
        self,
        source: SourceLike,
        *,
        options: MoodStreamOptions | None = None,
        detector: Any = None,
        plugins: Sequence[PluginSpec] = (),
        plugin_settings: dict[str, dict[str, Any]] | None = None,
        config: str | os.PathLike[str] | bool | None = None,
    ) -> None:
        self.options = opts = options or MoodStreamOptions()
        if isinstance(plugins, str):
            plugins = [plugins]
        # Plugins first: a typo in a name should not cost opening a camera.
        self._plugins = PluginManager(
            plugins,
            settings=plugin_settings,
            config=config,
            queue_size=opts.queue_size,
            max_failures=opts.max_failures,
            stop_timeout=opts.stop_timeout,
            max_pending=opts.max_pending,
        )
        self._source: FrameSource | None = None
        self._owns_detector = detector is None
        self._detector: Any = None
        self._abandoned = False
        try:
            self._source = open_source(source, fps=opts.fps, realtime=opts.realtime)
            if detector is None:
                from ._detector import EmotionDetector

                # One thread per model, so the pipeline runs the finder and the classifier
                # on a core each (measured in the README's stream table).
                detector = EmotionDetector(threads=1 if opts.pipeline else None)
        except BaseException:
            self._abandon()
            self._plugins.close()  # plugins created from names hold files or connections
            raise
        self._detector = detector
        self._split = _splits_finding_and_scoring(detector)
        self._engine = _MoodEngine(opts)
        self._iterator: Generator[MoodReading, None, None] | None = None
        self._started = False
        self._summary: StreamSummary | None = None
        self._plugins_stopped = False
        self._faces_ended = False
        self._engine_lock = threading.Lock()  # the frame loop vs a stop from another thread
        self._stop_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._frames = self._full = self._near = 0
        self._since_full = 0
        self._first_ts: float | None = None
        self._last_ts = 0.0
        self.last_changes: tuple[MoodChange, ...] = ()
        self.last_reading: MoodReading | None = None
        self.last_frame: Frame | None = None

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def source(self) -> FrameSource:
        """The opened frame source.

        Raises:
            MoodlensError: the stream failed while opening it.
        """
        if self._source is None:
            raise MoodlensError("this MoodStream has no source; it failed while opening.")
        return self._source

    @property
    def plugins(self) -> dict[str, Any]:
        """The enabled plugin objects by name."""
        return self._plugins.plugins

    @property
    def summary(self) -> StreamSummary | None:
        """How the stream stopped; None while it runs."""
        return self._summary

    @property
    def stats(self) -> StreamStats:
        """Frames processed and dropped, full vs near detections, each plugin's statistics."""
        source = self._source
        return StreamStats(
            self._frames,
            self._full,
            self._near,
            tuple(self._plugins.stats()),
            source.dropped if source is not None else 0,
            source.skipped if source is not None else 0,
        )

    def _start(self) -> None:
        with self._start_lock:
            if self._started:
                return
            self._started = True
            src = self.source
            self._plugins.start(StreamInfo(src.description, _now(), src.fps))

    def __enter__(self) -> MoodStream:
        self._start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            reason = "closed"
        elif issubclass(exc_type, KeyboardInterrupt):
            reason = "interrupted"
        else:
            reason = "error"
        self._stop(reason)

    def close(self, *, reason: str = "closed") -> StreamSummary:
        """Stops the stream: plugins get ``stream_stopped``; the source is released.

        Faces still in view get their final mood change (to None), then plugins hear the
        stop; ``close()`` returns once they did (or after ``stop_timeout``). Safe to call
        twice (the first stop's summary is returned) and from another thread than the one
        iterating, which then stops after the frame in hand.

        Args:
            reason: the ``summary.reason`` plugins hear: "closed" (the default),
                "interrupted" (a signal: what Ctrl-C gives, and ``moodlens watch`` on
                SIGTERM), "end" or "error".

        Returns:
            How the stream stopped (the first stop's summary when already stopped).

        Raises:
            OptionsError: an unknown reason.
        """
        if reason not in _REASONS:
            raise OptionsError(f"reason must be one of {', '.join(_REASONS)}; got {reason!r}.")
        return self._stop(reason)

    def _stop(self, reason: str) -> StreamSummary:
        with self._stop_lock:
            if self._summary is None:
                duration = self._last_ts - self._first_ts if self._first_ts is not None else 0.0
                self._summary = StreamSummary(reason, self._frames, max(0.0, duration), _now())
            summary = self._summary
        self._end_faces()
        try:
            # Until the plugins' stop completes, a later call (after a second Ctrl-C during
            # the wait, say) tries again: a stop is never lost, and never delivered twice.
            if not self._plugins_stopped:
                self._start()  # plugins that were created hear a start and a stop, even if empty
                stats = self._plugins.stop(summary)
                self._plugins_stopped = True
                for s in stats:
                    if s.disabled:
                        logger.warning("plugin %r was disabled: %s", s.name, s.disabled_reason)
        finally:
            if self._close_iterator():
                self._abandon()
        return summary

    def _end_faces(self) -> None:
        """Faces still in view when the stream stops get their final change, once."""
        with self._engine_lock:
            if self._faces_ended:
                return
            self._faces_ended = True
            changes = self._engine.finish(self._last_ts, _now())
        for change in changes:
            self._plugins.mood_changed(change)
        self.last_changes = tuple(changes)

    def _close_iterator(self) -> bool:
        """Closes the frame loop; False when it runs on another thread (it cleans up itself)."""
        iterator = self._iterator
        if iterator is None:
            return True
        if inspect.getgeneratorstate(iterator) == inspect.GEN_RUNNING:
            # Closing the source wakes a loop waiting for a camera; the detector stays
            # open for the frame in hand and is closed when the loop ends.
            if self._source is not None:
                self._source.close()
            return False
        self._iterator = None
        try:
            iterator.close()
        except ValueError:  # started running on another thread meanwhile
            return False
        return True

    def _abandon(self) -> None:
        if self._abandoned:
            return
        self._abandoned = True
        if self._source is not None:
            self._source.close()
        if self._owns_detector and self._detector is not None:
            self._detector.close()

    # -- the frame loop -----------------------------------------------------------------------
    def __iter__(self) -> Iterator[MoodReading]:
        """The readings, one per frame, until the source ends or the stream is closed.

        Raises:
            MoodlensError: the stream has stopped.
        """
        if self._summary is not None:
            raise MoodlensError("this MoodStream has stopped; create a new one to read again.")
        if self._iterator is None:
            self._iterator = self._loop()
        return self._iterator

    def _loop(self) -> Generator[MoodReading, None, None]:
        self._start()
        reason = "end"
        worker = None
        if self.options.pipeline and self._split:
            worker = ThreadPoolExecutor(1, thread_name_prefix="moodlens-classify")
        pending: _Job | None = None  # found and tracked, scores on the worker
        try:
            for frame in self.source:
                if self._summary is not None:  # closed from another thread
                    reason = "closed"
                    break
                job = self._begin(frame, worker)
                if worker is None:
                    yield self._finish(job)[0]
                    continue
                # This frame's faces were found while the last frame's were classified.
                done, pending = pending, job
                if done is not None:
                    yield self._finish(done)[0]
            else:
                if pending is not None and self._summary is None:
                    done, pending = pending, None
                    yield self._finish(done)[0]
        except GeneratorExit:
            reason = "closed"
            raise
        except KeyboardInterrupt:
            reason = "interrupted"
            raise
        except BaseException:
            reason = "error"
            raise
        finally:
            self._iterator = None
            if worker is not None:
                worker.shutdown(wait=True, cancel_futures=True)
            self._stop(reason)

    def run(
        self,
        *,
        on_reading: Callable[[MoodReading], Any] | None = None,
        on_change: Callable[[MoodChange], Any] | None = None,
    ) -> StreamSummary:
        """Reads the whole source (or until Ctrl-C), calling back on the frame loop.

        Args:
            on_reading: called with each reading, on this thread.
            on_change: called with each mood change, on this thread (also the final
                ones of the faces still in view at the end).

        Returns:
            How the stream stopped.

        Raises:
            KeyboardInterrupt: after plugins heard the stop (reason "interrupted").
        """
        try:
            for reading in self:
                for change in self.last_changes:
                    if on_change:
                        on_change(change)
                if on_reading:
                    on_reading(reading)
        except KeyboardInterrupt:
            self._stop("interrupted")
            raise
        except BaseException:
            self._stop("error")
            raise
        summary = self._stop("end")
        if on_change:
            for change in self.last_changes:  # the faces still in view at the end
                on_change(change)
        return summary

    def process(self, frame: Frame) -> tuple[MoodReading, list[MoodChange]]:
        """Processes one frame: its reading and mood changes, also queued for plugins.

        Iterating the stream does the same work (pipelined, see
        ``MoodStreamOptions.pipeline``); call this yourself only to feed frames by hand.

        Raises:
            InvalidImageError: the frame cannot be used.
            MoodlensError: the stream has stopped.
        """
        if self._summary is not None:
            raise MoodlensError("this MoodStream has stopped; create a new one to read again.")
        self._start()
        return self._finish(self._begin(frame, None))

    def _begin(self, frame: Frame, worker: ThreadPoolExecutor | None) -> _Job:
        """Finds and tracks a frame's faces, then scores them now or on ``worker``."""
        # The decoded frame, colour kept: a finder that needs RGB (BlazeFace) gets it.
        image = to_frame(frame.image, rgb=self.options.rgb)
        detector = self._detector
        if not self._split:  # any object with find_faces and detect
            boxes = self._find(lambda near: [Box(*b) for b in _find_boxes(detector, image, near)])
            faces = detector.detect(image, boxes=boxes) if boxes else []
            with self._engine_lock:
                update = self._engine.track([f.box for f in faces], frame.timestamp)
            return _Job(frame, update, faces=faces)
        found = self._find(lambda near: detector._find(image, near))
        with self._engine_lock:
            update = self._engine.track([f.box for f in found], frame.timestamp)
        if worker is None or not found:
            return _Job(frame, update, faces=detector._score(image, found))
        return _Job(frame, update, future=worker.submit(detector._score, image, found))

    def _finish(self, job: _Job) -> tuple[MoodReading, list[MoodChange]]:
        """A tracked frame's reading, once its scores are in; plugins get it."""
        faces = job.future.result() if job.future is not None else job.faces or []
        frame = job.frame
        if self._first_ts is None:
            self._first_ts = frame.timestamp
        self._last_ts = max(self._last_ts, frame.timestamp)
        with self._engine_lock:
            reading, changes = self._engine.score(
                job.update, frame.index, frame.timestamp, _now(), faces
            )
        self._frames += 1
        for change in changes:
            self._plugins.mood_changed(change)
        self._plugins.reading(reading)
        self.last_changes = tuple(changes)
        self.last_reading = reading
        self.last_frame = frame
        return reading, changes

    def _find(self, find: Callable[[list[Box] | None], list[_T]]) -> list[_T]:
        """A frame's faces, by ``find(near)``: near the known ones when tracking allows
        (``near`` the known boxes), else all of them (``near`` None)."""
        opts = self.options
        known = self._engine.track_boxes()
        if opts.tracking and known and self._since_full < opts.detect_every - 1:
            found = find(known)
            if len(found) >= len(known):  # every known face found again
                self._near += 1
                self._since_full += 1
                return found
        self._full += 1
        self._since_full = 0
        return find(None)


def _splits_finding_and_scoring(detector: Any) -> bool:
    """Whether the stream may find faces and score them apart (on two threads): a plain
    EmotionDetector; a subclass that overrides ``find_faces`` or ``detect`` keeps its own."""
    from ._detector import EmotionDetector

    kind = type(detector)
    return (
        issubclass(kind, EmotionDetector)
        and kind.find_faces is EmotionDetector.find_faces
        and kind.detect is EmotionDetector.detect
    )


def _find_boxes(detector: Any, image: np.ndarray, near: list[Box] | None) -> Sequence[Any]:
    return detector.find_faces(image) if near is None else detector.find_faces(image, near=near)


def _now() -> datetime:
    return datetime.now(timezone.utc)
