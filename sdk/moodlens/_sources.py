"""Frame sources: a camera, a video file, image files or any iterable, as timestamped Frames.

Every source yields ``Frame(image, timestamp, index)``. Timestamps are seconds:

- video files: the video's own clock (the decoder's position of each frame);
- cameras and timestamp-less iterables: the monotonic clock, from when the source opened;
- image files: ``index / fps`` (one image per second unless ``fps`` says otherwise).

Files give every frame; a video file is decoded on a background thread a few frames
ahead of the reader (decoding then overlaps the work on the last frame). A camera runs
at its own pace, so a
LatestFrameGrabber reads it on a background thread and the stream always gets
the newest frame; frames replaced before anyone took them are counted as dropped.

Nothing is opened at import; a source that cannot be opened raises SourceError when
created, not an empty stream later.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from ._errors import InvalidImageError, OptionsError, SourceError
from ._image import decode_image

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
)
# A camera that returns this many empty reads in a row is gone (unplugged, taken by another app).
_CAMERA_FAILED_READS = 10
# Pause between empty reads, so that a camera's short hiccup is not taken for its end.
_FAILED_READ_PAUSE = 0.01
# Seconds a camera may deliver no frame at all before reading it fails (a stuck driver).
_CAMERA_STALL_TIMEOUT = 5.0
# Seconds close() waits for the grabber thread; a capture's read() returns within a frame.
_GRABBER_JOIN_TIMEOUT = 2.0
# Frames a video file is decoded ahead of the reader (each 640x480 frame is ~1 MB).
_READ_AHEAD = 4


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

    @property
    def dropped(self) -> int:
        """Frames the source skipped to stay live (a camera ahead of the stream); else 0."""
        return 0

    @property
    def skipped(self) -> int:
        """Frames the source could not read and left out (corrupt image files); else 0."""
        return 0

    def __iter__(self) -> Iterator[Frame]:
        """Yields the Frames, once.

        Raises:
            SourceError: a frame that cannot be read, or a source read a second time.
        """
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

    Frames are decoded on a background thread, a few ahead of the reader.

    Raises:
        SourceError: the file does not exist or holds no frame OpenCV can decode; while
            iterating, the decoder failed.
    """

    def __init__(self, path: str | os.PathLike[str], *, realtime: bool = False) -> None:
        self._reader: _ReadAhead | None = None
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
        first = self._first
        if first is None:
            raise SourceError(f"video {self.description!r} was already read; open it again.")
        self._first = None
        # Known to close() before its thread starts, so a Ctrl-C at any point leaves
        # the capture to be released by whichever of the two ends last.
        reader = self._reader = _ReadAhead(self._capture, self.description)
        index, last = 0, 0.0
        item: tuple[np.ndarray, float] | None = (first, self._first_ms)
        start = time.monotonic()
        try:
            reader.start()
            while item is not None:
                image, msec = item
                last = self._timestamp(index, msec, last)
                if self.realtime:
                    delay = start + last - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                yield Frame(image, last, index)
                item = reader.next()
                index += 1
        finally:  # also when the reader drops the iterator half way
            reader.stop()

    def close(self) -> None:
        """Stops decoding and releases the file; safe to call twice."""
        if self._reader is not None:
            self._reader.close()  # never releases under a read in progress
        else:
            self._capture.release()


class _ReadAhead:
    """Decodes a capture on a thread, up to ``_READ_AHEAD`` frames ahead of ``next()``."""

    def __init__(self, capture: Any, name: str) -> None:
        self._capture, self._name = capture, name
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=_READ_AHEAD)
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # guards _running and _closed
        self._running = self._closed = False
        self._thread = threading.Thread(target=self._run, name="moodlens-read-ahead", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def next(self) -> tuple[np.ndarray, float] | None:
        """The next (image, position in ms), or None at the end of the video.

        Raises:
            SourceError: the decoder failed.
        """
        while True:
            try:
                item = self._queue.get(timeout=0.1)
                break
            except queue.Empty:
                if self._stopping.is_set():  # closed from another thread: the video ends
                    return None
                if not self._thread.is_alive():
                    # It may have put its last item (a frame, the end, an error) just
                    # after the wait timed out: take that before calling it the end.
                    try:
                        item = self._queue.get_nowait()
                        break
                    except queue.Empty:
                        return None
        if isinstance(item, Exception):
            raise SourceError(
                f"video {self._name!r} failed while decoding: {type(item).__name__}: {item}"
            ) from item
        return item  # type: ignore[no-any-return]

    def stop(self) -> None:
        """Stops the thread and waits for it (a frame's decoding at most)."""
        self._stopping.set()
        while self._thread.ident is not None and self._thread.is_alive():
            try:  # make room, so a thread blocked on a full queue sees the stop
                self._queue.get_nowait()
            except queue.Empty:
                pass
            self._thread.join(0.05)

    def close(self) -> None:
        """Stops the thread and releases the capture: now, or as the thread ends if a
        KeyboardInterrupt (Ctrl-C, or an app's SIGTERM handler) cuts the wait short:
        releasing a capture under a read in progress deadlocks FFmpeg."""
        try:
            self.stop()
        finally:
            with self._lock:
                self._closed = True
                release_now = not self._running
            if release_now:
                self._capture.release()

    def _run(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._running = True
        try:
            while not self._stopping.is_set():
                ok, image = self._capture.read()
                if not ok or image is None:
                    break
                self._put((image, float(self._capture.get(cv2.CAP_PROP_POS_MSEC))))
            self._put(None)
        except Exception as exc:  # a capture may raise anything (cv2.error, OSError...)
            self._put(exc)
        finally:
            with self._lock:
                self._running = False
                release = self._closed
            if release:
                self._capture.release()

    def _put(self, item: Any) -> None:
        while not self._stopping.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                continue


class Capture(Protocol):
    """What LatestFrameGrabber needs of a capture: cv2.VideoCapture's ``read()``."""

    def read(self) -> tuple[bool, Any]: ...


class LatestFrameGrabber:
    """Reads a capture on a background thread and keeps only its newest frame.

    Read synchronously, a camera's frames pile up in the driver's buffer whenever
    processing is slower than the camera, and the stream falls further behind live.
    The grabber keeps reading instead and holds one frame: ``read()`` returns the
    newest frame not yet taken, with the monotonic time it arrived. Frames replaced
    before anyone took them are counted in ``dropped``.

    Args:
        capture: anything with ``read() -> (ok, image)``, such as a cv2.VideoCapture;
            its ``release()``, when it has one, is called once reading has stopped.
        name: how messages and the thread name the capture ("camera 0").
        failed_reads: empty reads in a row after which the capture has failed.
        stall_timeout: seconds ``read()`` waits for a frame before the capture has failed.

    Raises:
        OptionsError: ``failed_reads`` below 1 or a ``stall_timeout`` that is not positive.

    Example:
        >>> grabber = LatestFrameGrabber(cv2.VideoCapture(0), name="camera 0")
        >>> image, timestamp, index = grabber.read()   # starts the thread
        >>> grabber.close()
    """

    def __init__(
        self,
        capture: Capture,
        *,
        name: str = "camera",
        failed_reads: int = _CAMERA_FAILED_READS,
        stall_timeout: float = _CAMERA_STALL_TIMEOUT,
    ) -> None:
        if failed_reads < 1:
            raise OptionsError(f"failed_reads must be >= 1, got {failed_reads}")
        if not stall_timeout > 0:
            raise OptionsError(f"stall_timeout must be positive seconds, got {stall_timeout}")
        self.name = name
        self._capture = capture
        self._failed_reads = failed_reads
        self._stall_timeout = float(stall_timeout)
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._latest: tuple[np.ndarray, float, int] | None = None
        self._error: SourceError | None = None
        self._done = self._closed = self._released = False
        self._grabbed = self._dropped = 0

    @property
    def grabbed(self) -> int:
        """Frames read from the capture so far."""
        return self._grabbed

    @property
    def dropped(self) -> int:
        """Frames replaced by a newer one before ``read()`` took them."""
        return self._dropped

    @property
    def running(self) -> bool:
        """The reading thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Starts the reading thread; ``read()`` does it when needed. Safe to call twice.

        Raises:
            SourceError: the grabber was closed.
        """
        with self._cond:
            if self._closed:
                raise SourceError(f"{self.name} was closed; open it again.")
            self._start_thread()

    def _start_thread(self) -> None:
        # Called holding self._cond.
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(
                target=self._run, name=f"moodlens-grabber-{self.name}", daemon=True
            )
            self._thread.start()

    def read(self) -> tuple[np.ndarray, float, int] | None:
        """The newest frame not yet taken, waiting for one if needed.

        Returns:
            ``(image, monotonic_seconds, index)`` where index counts the capture's frames
            from 0 (gaps are dropped frames); None once the grabber is closed.

        Raises:
            SourceError: the capture raised, returned ``failed_reads`` empty reads in a row,
                or delivered nothing for ``stall_timeout`` seconds.
        """
        deadline = time.monotonic() + self._stall_timeout
        with self._cond:
            self._start_thread()
            while True:
                if self._closed:
                    return None
                if self._error is not None:
                    raise self._error
                if self._latest is not None:
                    frame, self._latest = self._latest, None
                    return frame
                if self._done:
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SourceError(
                        f"{self.name} delivered no frame for {self._stall_timeout:g} s; is it "
                        "unplugged or used by another app?"
                    )
                # Short waits keep Ctrl-C prompt on the main thread.
                self._cond.wait(min(remaining, 0.1))

    def close(self) -> None:
        """Stops and joins the reading thread and releases the capture; safe to call twice."""
        with self._cond:
            self._closed = True
            self._latest = None
            self._cond.notify_all()
        self._stopping.set()
        thread = self._thread
        if thread is None:
            self._release()
        elif thread is not threading.current_thread():
            thread.join(_GRABBER_JOIN_TIMEOUT)
            if thread.is_alive():
                # Never release under a read in progress; the thread releases when it returns.
                logger.warning(
                    "%s: reading did not stop within %.1f s; it is released when the "
                    "pending read returns",
                    self.name,
                    _GRABBER_JOIN_TIMEOUT,
                )

    def _run(self) -> None:
        error: SourceError | None = None
        try:
            self._grab_until_stopped()
        except SourceError as exc:
            error = exc
        except Exception as exc:  # a capture may raise anything (cv2.error, OSError...)
            error = SourceError(f"{self.name} failed while reading: {type(exc).__name__}: {exc}")
            error.__cause__ = exc
        finally:
            self._release()
            with self._cond:
                self._error, self._done = error, True
                self._cond.notify_all()
        if error is not None:
            logger.debug("%s: grabber stopped: %s", self.name, error)

    def _grab_until_stopped(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            ok, image = self._capture.read()
            stamp = time.monotonic()
            if not ok or image is None:
                failures += 1
                if failures >= self._failed_reads:
                    raise SourceError(
                        f"{self.name} stopped delivering frames ({failures} empty reads in a "
                        "row); is it unplugged or used by another app?"
                    )
                self._stopping.wait(_FAILED_READ_PAUSE)
                continue
            failures = 0
            with self._cond:
                if self._latest is not None:
                    self._dropped += 1
                self._latest = (image, stamp, self._grabbed)
                self._grabbed += 1
                self._cond.notify_all()

    def _release(self) -> None:
        with self._cond:
            if self._released:
                return
            self._released = True
        release = getattr(self._capture, "release", None)
        if callable(release):
            try:
                release()
            except Exception as exc:  # releasing must not hide why the stream stopped
                logger.warning("%s: release failed: %s", self.name, exc)


class CameraSource(FrameSource):
    """A camera by index (0 is the default camera), on the monotonic clock.

    A background thread reads the camera (LatestFrameGrabber), so each frame the
    stream takes is the newest one, never one queued while the previous frame was
    processed. Frame indices count the camera's frames: a gap is frames dropped to
    stay live, and ``dropped`` counts them.

    Args:
        index: the camera index, as OpenCV numbers them.
        width, height: ask the camera for this capture size (it may pick the nearest).
        stall_timeout: seconds without any frame after which reading fails.

    Raises:
        SourceError: the camera cannot be opened or delivers no frame; while iterating,
            a camera that stops delivering frames.

    Example:
        >>> with CameraSource(0) as camera:
        ...     for frame in camera:
        ...         print(frame.index, frame.timestamp, camera.dropped)
    """

    live = True

    def __init__(
        self,
        index: int,
        *,
        width: int | None = None,
        height: int | None = None,
        stall_timeout: float = _CAMERA_STALL_TIMEOUT,
    ) -> None:
        capture = _open_capture(int(index))
        if not capture.isOpened():
            raise SourceError(
                f"camera {index} cannot be opened: check it is connected, not used by "
                "another app, and that this program may use the camera; or try another index."
            )
        if width:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        ok, first = capture.read()
        if not ok or first is None:
            capture.release()
            raise SourceError(
                f"camera {index} opened but delivered no frame; is another app using it?"
            )
        self._setup(capture, f"camera {index}", stall_timeout)
        self.index: int | None = int(index)

    @classmethod
    def from_capture(
        cls,
        capture: Capture,
        *,
        description: str = "camera",
        stall_timeout: float = _CAMERA_STALL_TIMEOUT,
    ) -> CameraSource:
        """A live source over a capture you opened (a network stream, a pipeline, a fake).

        Args:
            capture: anything with ``read() -> (ok, image)``; ``release()``, ``isOpened()``
                and ``get(cv2.CAP_PROP_FPS)`` are used when it has them.
            description: how plugins and logs name the source.
            stall_timeout: seconds without any frame after which reading fails.

        Returns:
            The source; closing it releases the capture.

        Raises:
            SourceError: the capture says it is not opened.
        """
        is_opened = getattr(capture, "isOpened", None)
        if callable(is_opened) and not is_opened():
            raise SourceError(f"{description} is not opened; open the capture first.")
        source = cls.__new__(cls)
        source._setup(capture, description, stall_timeout)
        source.index = None
        return source

    def _setup(self, capture: Capture, description: str, stall_timeout: float) -> None:
        self.description = description
        self._start = time.monotonic()
        self._grabber = LatestFrameGrabber(capture, name=description, stall_timeout=stall_timeout)
        self._iterated = False
        get = getattr(capture, "get", None)
        fps = float(get(cv2.CAP_PROP_FPS) or 0.0) if callable(get) else 0.0
        self.fps = fps if 0.0 < fps < 1000.0 else None

    @property
    def dropped(self) -> int:
        """Camera frames replaced by a newer one before the stream took them."""
        return self._grabber.dropped

    def __iter__(self) -> Iterator[Frame]:
        """Yields the newest camera frame each time one is asked for, until closed.

        Raises:
            SourceError: the camera failed or stalled, or the source is read a second time.
        """
        if self._iterated:
            raise SourceError(f"{self.description} was already read; open it again.")
        self._iterated = True
        while True:
            got = self._grabber.read()
            if got is None:
                return
            image, stamp, index = got
            yield Frame(image, max(0.0, stamp - self._start), index)

    def __str__(self) -> str:
        return self.description

    def close(self) -> None:
        """Stops the reading thread and releases the camera; safe to call twice."""
        self._grabber.close()


class ImageFilesSource(FrameSource):
    """Image files (or every image in a folder, by name), one frame each at ``index / fps``.

    An image that cannot be decoded (a corrupt or truncated file) is skipped with a
    logged warning and counted in ``skipped``; its index and time slot stay empty. Only
    when no image at all can be decoded does iterating raise.

    Args:
        paths: image files and/or folders (a folder contributes its images, sorted by name).
        fps: images per second of stream time, which the smoothing half-life is measured in.
        skip_unreadable: skip undecodable images (the default); False raises at the first.

    Raises:
        OptionsError: ``fps`` is not positive.
        SourceError: a path that does not exist, a folder without images, or no images;
            while iterating, an image that cannot be decoded when none could (or when
            ``skip_unreadable`` is False).
    """

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        fps: float = 1.0,
        skip_unreadable: bool = True,
    ) -> None:
        if not fps > 0:
            raise OptionsError(f"fps must be a positive number of frames per second, got {fps}")
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
        self.skip_unreadable = skip_unreadable
        self._skipped = 0

    @property
    def skipped(self) -> int:
        """Images that could not be decoded and were left out."""
        return self._skipped

    def __iter__(self) -> Iterator[Frame]:
        fps = self.fps or 1.0
        decoded = 0
        for index, path in enumerate(self.files):
            try:
                image = decode_image(path)  # the detector's decoder: EXIF orientation applied
            except InvalidImageError as exc:
                last = len(self.files) - 1
                if not self.skip_unreadable or (index == last and decoded == 0):
                    raise SourceError(str(exc)) from None
                self._skipped += 1
                logger.warning("skipped: %s", exc)
                continue
            decoded += 1
            yield Frame(image, index / fps, index)


class IterableSource(FrameSource):
    """Any iterable of frames: arrays, ``(array, timestamp)`` pairs, or Frames.

    Args:
        frames: the iterable (a list, a generator, a decoder of your own...).
        fps: timestamps for bare arrays are ``index / fps``; None uses the monotonic clock.
        description: how plugins and logs name the source.

    Raises:
        OptionsError: ``fps`` is given and not positive.
        SourceError: (while iterating) an item that is not a frame, or a timestamp that
            goes back in time.
    """

    def __init__(
        self, frames: Iterable[Any], *, fps: float | None = None, description: str = "frames"
    ) -> None:
        if fps is not None and not fps > 0:
            raise OptionsError(f"fps must be a positive number of frames per second, got {fps}")
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


def open_source(
    source: SourceLike, *, fps: float | None = None, realtime: bool = False
) -> FrameSource:
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
