"""Frame sources: a camera, a video file, image files or any iterable, as timestamped Frames.

Every source yields ``Frame(image, timestamp, index)``. Timestamps are seconds:

- video files: the video's own clock (the decoder's position of each frame);
- cameras and timestamp-less iterables: the monotonic clock, from when the source opened;
- image files: ``index / fps`` (one image per second unless ``fps`` says otherwise).

Nothing is opened at import; a source that cannot be opened raises SourceError when
created, not an empty stream later.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ._errors import SourceError

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
)
# A camera that returns this many empty reads in a row is gone (unplugged, taken by another app).
_CAMERA_FAILED_READS = 10


@dataclass(frozen=True, slots=True)
class Frame:
    """One image of a stream and when it was taken.

    Attributes:
        image: HxWx3 BGR (or RGB, see MoodStreamOptions.rgb) or HxW gray uint8 array.
        timestamp: seconds on the source's clock; never decreases along a stream.
        index: position of the frame in its source, from 0.
    """

    image: np.ndarray
    timestamp: float
    index: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.image, np.ndarray) or self.image.dtype != np.uint8:
            got = (
                f"{self.image.dtype} array"
                if isinstance(self.image, np.ndarray)
                else type(self.image).__name__
            )
            raise SourceError(
                f"frame {self.index} is a {got}; frames must be uint8 numpy arrays "
                "(HxWx3 BGR or HxW gray)."
            )
        if self.image.ndim not in (2, 3) or self.image.size == 0:
            raise SourceError(
                f"frame {self.index} has shape {self.image.shape}; expected HxWx3 or HxW."
            )
        try:
            timestamp = float(self.timestamp)
        except (TypeError, ValueError):
            raise SourceError(
                f"frame {self.index} has timestamp {self.timestamp!r}; expected seconds "
                "as a number."
            ) from None
        if not np.isfinite(timestamp):
            raise SourceError(f"frame {self.index} has a non-finite timestamp {timestamp}.")
        object.__setattr__(self, "timestamp", timestamp)


class FrameSource:
    """Base of the sources: iterate for Frames, then ``close()`` (safe twice).

    Attributes:
        description: a human description ("camera 0", "clip.mp4", "frames").
        fps: the nominal frame rate, when known.
        frame_count: how many frames the source will yield, when known (for progress).
        live: frames arrive in real time (a camera); the stream cannot seek or rewind.
    """

    description: str = "frames"
    fps: float | None = None
    frame_count: int | None = None
    live: bool = False

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        """Releases the camera or file; safe to call twice."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class VideoSource(FrameSource):
    """A video file (anything OpenCV's FFmpeg backend reads), on the video's clock.

    Args:
        path: the video file.
        realtime: pace frames to the video clock, as a camera would deliver them.

    Raises:
        SourceError: the file does not exist or holds no frame OpenCV can decode.
    """

    def __init__(self, path: str | os.PathLike[str], *, realtime: bool = False) -> None:
        self.path = Path(path)
        self.description = str(path)
        self.realtime = realtime
        if not self.path.is_file():
            raise SourceError(f"video file {str(path)!r} does not exist or is not a file.")
        self._capture = _open_capture(str(self.path))
        if not self._capture.isOpened():
            raise SourceError(
                f"video file {str(path)!r} cannot be opened by OpenCV; is it a video "
                "(mp4, avi, mkv, webm...) and is the file complete?"
            )
        ok, first = self._capture.read()
        if not ok or first is None:
            self._capture.release()
            raise SourceError(
                f"video file {str(path)!r} holds no frame OpenCV can decode; check the file "
                "plays in a video player, or convert it to H.264 mp4."
            )
        self._first: np.ndarray | None = first
        self._first_ms = float(self._capture.get(cv2.CAP_PROP_POS_MSEC))
        fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 0.0 < fps < 1000.0 else None
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count = count if count > 0 else None

    def _timestamp(self, index: int, msec: float, last: float) -> float:
        # Some containers report no position; fall back to the nominal rate.
        t = msec / 1000.0 if (msec > 0.0 or index == 0) else index / (self.fps or 30.0)
        return max(t, last)

    def __iter__(self) -> Iterator[Frame]:
        capture, first = self._capture, self._first
        if first is None:
            raise SourceError(f"video {self.description!r} was already read; open it again.")
        self._first = None
        index, last = 0, 0.0
        image, msec = first, self._first_ms
        start = time.monotonic()
        while True:
            last = self._timestamp(index, msec, last)
            if self.realtime:
                delay = start + last - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield Frame(image, last, index)
            ok, image = capture.read()
            if not ok or image is None:
                return
            index += 1
            msec = float(capture.get(cv2.CAP_PROP_POS_MSEC))

    def close(self) -> None:
        self._capture.release()


class CameraSource(FrameSource):
    """A camera by index (0 is the default camera), on the monotonic clock.

    Args:
        index: the camera index, as OpenCV numbers them.
        width, height: ask the camera for this capture size (it may pick the nearest).

    Raises:
        SourceError: the camera cannot be opened or delivers no frame.
    """

    live = True

    def __init__(self, index: int, *, width: int | None = None, height: int | None = None):
        self.index = int(index)
        self.description = f"camera {self.index}"
        self._capture = _open_capture(self.index)
        if not self._capture.isOpened():
            raise SourceError(
                f"camera {self.index} cannot be opened: check it is connected, not used by "
                "another app, and that this program may use the camera; or try another index."
            )
        if width:
            self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        ok, first = self._capture.read()
        if not ok or first is None:
            self._capture.release()
            raise SourceError(
                f"camera {self.index} opened but delivered no frame; is another app using it?"
            )
        self._start = time.monotonic()
        self._first: np.ndarray | None = first
        fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 0.0 < fps < 1000.0 else None

    def __iter__(self) -> Iterator[Frame]:
        image, self._first = self._first, None
        if image is None:
            raise SourceError(f"{self.description} was already read; open it again.")
        index, failures = 0, 0
        yield Frame(image, time.monotonic() - self._start, index)
        while True:
            ok, image = self._capture.read()
            if not ok or image is None:
                failures += 1
                if failures >= _CAMERA_FAILED_READS:
                    logger.warning("%s stopped delivering frames; ending the stream", self)
                    return
                continue
            failures = 0
            index += 1
            yield Frame(image, time.monotonic() - self._start, index)

    def __str__(self) -> str:
        return self.description

    def close(self) -> None:
        self._capture.release()


class ImageFilesSource(FrameSource):
    """Image files (or every image in a folder, by name), one frame each at ``index / fps``.

    Args:
        paths: image files and/or folders (a folder contributes its images, sorted by name).
        fps: images per second of stream time, which the smoothing half-life is measured in.

    Raises:
        SourceError: a path that does not exist, a folder without images, or no images.
    """

    def __init__(self, paths: Sequence[str | os.PathLike[str]], *, fps: float = 1.0) -> None:
        if not fps > 0:
            raise SourceError(f"fps must be positive, got {fps}")
        files: list[Path] = []
        for item in paths:
            path = Path(item)
            if path.is_dir():
                found = sorted(
                    p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
                )
                if not found:
                    suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
                    raise SourceError(f"folder {str(path)!r} holds no images ({suffixes}).")
                files.extend(found)
            elif path.is_file():
                files.append(path)
            else:
                raise SourceError(f"image path {str(path)!r} does not exist.")
        if not files:
            raise SourceError("no image files were given; pass files or a folder of images.")
        self.files = files
        self.fps = float(fps)
        self.frame_count = len(files)
        self.description = str(paths[0]) if len(paths) == 1 else f"{len(files)} images"

    def __iter__(self) -> Iterator[Frame]:
        fps = self.fps or 1.0
        for index, path in enumerate(self.files):
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise SourceError(
                    f"image file {str(path)!r} cannot be decoded; is it a JPEG, PNG or BMP?"
                )
            yield Frame(image, index / fps, index)


class IterableSource(FrameSource):
    """Any iterable of frames: arrays, ``(array, timestamp)`` pairs, or Frames.

    Args:
        frames: the iterable (a list, a generator, a decoder of your own...).
        fps: timestamps for bare arrays are ``index / fps``; None uses the monotonic clock.
        description: how plugins and logs name the source.

    Raises:
        SourceError: (while iterating) an item that is not a frame, or a timestamp that
            goes back in time.
    """

    def __init__(
        self, frames: Iterable[Any], *, fps: float | None = None, description: str = "frames"
    ) -> None:
        if fps is not None and not fps > 0:
            raise SourceError(f"fps must be positive, got {fps}")
        self._frames = frames
        self.fps = fps
        self.description = description
        self.live = fps is None
        try:
            self.frame_count = len(frames)  # type: ignore[arg-type]
        except TypeError:
            self.frame_count = None

    def __iter__(self) -> Iterator[Frame]:
        start = time.monotonic()
        last = -np.inf
        for index, item in enumerate(self._frames):
            frame = self._to_frame(item, index, start)
            if frame.timestamp < last:
                raise SourceError(
                    f"frame {index} has timestamp {frame.timestamp} before the previous "
                    f"frame's {last}; timestamps must not decrease."
                )
            last = frame.timestamp
            yield frame

    def _to_frame(self, item: Any, index: int, start: float) -> Frame:
        if isinstance(item, Frame):
            return Frame(item.image, item.timestamp, index)
        if isinstance(item, tuple) and len(item) == 2:
            return Frame(item[0], item[1], index)
        if isinstance(item, np.ndarray):
            t = time.monotonic() - start if self.fps is None else index / self.fps
            return Frame(item, t, index)
        raise SourceError(
            f"frame {index} is a {type(item).__name__}; an iterable source must yield uint8 "
            "arrays, (array, timestamp_seconds) pairs or moodlens.Frame objects."
        )

    def close(self) -> None:
        close = getattr(self._frames, "close", None)
        if callable(close):
            close()


SourceLike = Any  # int | str | os.PathLike | Sequence[path] | Iterable[frame] | FrameSource


def open_source(source: SourceLike, *, fps: float | None = None, realtime: bool = False):
    """Opens what the user passed as a FrameSource.

    Args:
        source: a camera index (int); a video file, image file or folder (str or Path);
            a list of image paths; a single uint8 image array; any iterable of frames;
            or a FrameSource.
        fps: image files and bare arrays: frames per second of stream time.
        realtime: video files: deliver frames at the video's own pace.

    Returns:
        The FrameSource; close it when done.

    Raises:
        SourceError: the source cannot be opened, or is of a kind moodlens cannot read.

    Example:
        >>> with open_source("clip.mp4") as frames:
        ...     for frame in frames:
        ...         print(frame.index, frame.timestamp)
    """
    if isinstance(source, FrameSource):
        return source
    if isinstance(source, bool):
        raise SourceError("source is a bool; pass a camera index, a path or frames.")
    if isinstance(source, int):
        return CameraSource(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
            return ImageFilesSource([path], fps=fps or 1.0)
        return VideoSource(path, realtime=realtime)
    if isinstance(source, np.ndarray):
        if source.ndim == 4:
            return IterableSource(list(source), fps=fps or 30.0, description="array of frames")
        return IterableSource([source], fps=fps or 1.0, description="image")
    if isinstance(source, (list, tuple)) and source and _all_paths(source):
        return ImageFilesSource(source, fps=fps or 1.0)
    if isinstance(source, Iterable):
        return IterableSource(source, fps=fps)
    raise SourceError(
        f"source is a {type(source).__name__}; pass a camera index (0), a video file, an "
        "image file or folder, a list of image paths, or an iterable of frames."
    )


def _all_paths(items: Sequence[Any]) -> bool:
    return all(isinstance(i, (str, os.PathLike)) for i in items)


def _open_capture(target: str | int) -> cv2.VideoCapture:
    try:
        return cv2.VideoCapture(target)
    except cv2.error as exc:
        raise SourceError(f"OpenCV cannot open {target!r}: {exc}") from None
