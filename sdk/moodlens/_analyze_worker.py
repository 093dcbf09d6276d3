"""Batch analysis, worker side: one Task (a video segment or a photo) to raw detections.

A worker holds one EmotionDetector with one ONNX Runtime thread, and OpenCV runs on one
thread: parallelism comes from running one worker per core, which scales better than
threads inside one process on small per-frame work. Tracking and smoothing are *not*
done here: the driver joins a source's segments in order first, so tracks cross segment
borders and every engine gives the same table.

A Task never raises: any failure (a corrupt file, a decoder error) comes back as
``TaskResult.error`` so that one bad input never stops the batch.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from ._analyze_inputs import AnalyzeOptions, Task
from ._image import decode_image
from ._types import EMOTIONS

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class TaskResult:
    """Raw detections of one Task, compact for pickling between processes.

    Attributes:
        task: the Task this answers.
        frames: frame index of each sampled frame (the ones with and without faces).
        face_frames: for each face, the position of its frame in ``frames``.
        boxes: (N, 4) int64 x, y, w, h of each face.
        scores: (N, 7) float32 scores in ``list(Emotion)`` order.
        frames_read: frames decoded or skipped in this segment.
        fps: the frame rate the worker used for timestamps.
        error: why the Task failed (type and message), None when it did not.
        seconds: processing time in the worker.
    """

    task: Task
    frames: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    face_frames: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.int64))
    scores: np.ndarray = field(default_factory=lambda: np.zeros((0, 7), np.float32))
    frames_read: int = 0
    fps: float | None = None
    error: str | None = None
    seconds: float = 0.0


class Worker:
    """One detector, single-threaded, that runs Tasks; what a pool process or actor holds.

    Args:
        options: model and face finder of the detector.

    Raises:
        ModelError: the model cannot be loaded.
    """

    def __init__(self, options: AnalyzeOptions) -> None:
        from ._detector import EmotionDetector

        cv2.setNumThreads(1)
        self.options = options
        self.detector = EmotionDetector(threads=1, **options.detector_kwargs())

    def run(self, task: Task) -> TaskResult:
        """Runs one Task; failures are returned in ``error``, never raised."""
        start = time.perf_counter()
        result = TaskResult(task, fps=task.fps)
        try:
            if task.kind == "photo":
                self._photo(task, result)
            else:
                self._video(task, result)
        except (
            Exception
        ) as exc:  # any decoder or detector failure is this source's, not the batch's
            result.error = f"{type(exc).__name__}: {exc}".strip()
            logger.debug("task %s failed", task, exc_info=True)
        result.seconds = time.perf_counter() - start
        return result

    def _collect(self, frames: list[int], faces: list[tuple[int, Any]], result: TaskResult) -> None:
        result.frames = np.asarray(frames, dtype=np.int64)
        if faces:
            result.face_frames = np.asarray([i for i, _ in faces], dtype=np.int64)
            result.boxes = np.asarray([tuple(f.box) for _, f in faces], dtype=np.int64)
            result.scores = np.asarray(
                [[f.scores[e] for e in EMOTIONS] for _, f in faces], dtype=np.float32
            )

    def _photo(self, task: Task, result: TaskResult) -> None:
        image = decode_image(task.source)  # the one decoder: EXIF orientation honoured
        result.frames_read = 1
        faces = [(0, f) for f in self.detector.detect(image)]
        self._collect([0], faces, result)

    def _video(self, task: Task, result: TaskResult) -> None:
        capture = cv2.VideoCapture(task.source)
        try:
            if not capture.isOpened():
                raise ValueError("OpenCV cannot open it; is it a complete video file?")
            if task.start:
                _seek(capture, task.start)
            frames: list[int] = []
            faces: list[tuple[int, Any]] = []
            index = task.start
            options = task.options
            while task.stop is None or index < task.stop:
                # grab() decodes without converting: cheap for frames that are not sampled.
                if not capture.grab():
                    break
                result.frames_read += 1
                if options.sampled(index, task.fps):
                    ok, image = capture.retrieve()
                    if not ok or image is None:
                        raise ValueError(f"frame {index} cannot be decoded")
                    position = len(frames)
                    frames.append(index)
                    faces.extend((position, f) for f in self.detector.detect(image))
                index += 1
            if result.frames_read == 0 and task.segment == 0:
                raise ValueError(
                    "it holds no frame OpenCV can decode; check that it plays, or convert it "
                    "to H.264 mp4."
                )
            self._collect(frames, faces, result)
        finally:
            capture.release()


def _seek(capture: cv2.VideoCapture, start: int) -> None:
    """Positions the capture at frame ``start``, exactly.

    OpenCV's FFmpeg backend seeks frame-accurately in indexed containers (the tests compare
    segmented and whole runs); if the seek fails or reports another position, the segment
    decodes from the first frame instead, which is slower but right.
    """
    if capture.set(cv2.CAP_PROP_POS_FRAMES, start) and (
        int(capture.get(cv2.CAP_PROP_POS_FRAMES)) == start
    ):
        return
    capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
    for _ in range(start):
        if not capture.grab():
            return


# One Worker per pool process, made by the pool's initializer.
_process_worker: Worker | None = None
_process_error: str | None = None


def init_process(options: AnalyzeOptions) -> None:
    """Process-pool initializer: one single-threaded detector for this process."""
    global _process_worker, _process_error
    try:
        _process_worker = Worker(options)
    except Exception as exc:  # reported per task: the pool itself must not break
        _process_error = f"{type(exc).__name__}: {exc}"


def run_in_process(task: Task) -> TaskResult:
    """Process-pool function: runs a Task on this process's Worker."""
    if _process_worker is None:
        return TaskResult(task, error=_process_error or "the worker has no detector")
    return _process_worker.run(task)
