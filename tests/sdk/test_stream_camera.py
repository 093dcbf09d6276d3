"""Cameras: a background grabber keeps the newest frame, so a slow stream stays live.

No camera is needed: a fake capture stands in for cv2.VideoCapture (``read() -> (ok,
image)``). Where the test is about which frame arrives when, the test itself steps the
camera (``deliver(n)`` returns once the grabber has stored those frames), so nothing
depends on how fast a loaded machine runs; elsewhere it delivers a numbered frame every
few milliseconds.
"""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest
from moodlens import Box, OptionsError, SourceError
from moodlens._sources import CameraSource, LatestFrameGrabber
from moodlens._stream import MoodStream, MoodStreamOptions

from ._stream_support import (
    Recorder,
    ScriptedDetector,
    assert_complete_sequence,
    coded_frame,
    scores,
)

PERIOD = 0.005  # a 200 fps camera


def frame_number(image: np.ndarray) -> int:
    return int(image[0, 0]) * 256 + int(image[0, 1])


class FakeCamera:
    """A cv2.VideoCapture stand-in: numbered frames every ``period`` seconds.

    ``empty_after``: good frames before it returns (False, None) for ever;
    ``raise_after``: good frames before read() raises; ``block``: read() waits on this
    event before each frame (a stuck driver); ``stepped``: read() waits until the test
    lets frames through with ``deliver(n)`` (until ``run_free()``).
    """

    def __init__(
        self, *, period=PERIOD, empty_after=None, raise_after=None, block=None, stepped=False
    ):
        self.period, self.empty_after, self.raise_after = period, empty_after, raise_after
        self.block = block
        self.count = 0  # good frames delivered
        self.released = False
        self.reads_after_release = 0
        self.stepped = stepped
        self.allowed = 0  # stepped: frames the test has let through
        self.reads = 0  # stepped: read() calls begun
        self.read_began = threading.Event()
        self._cond = threading.Condition()

    def read(self):
        self.read_began.set()
        if self.released:
            self.reads_after_release += 1
        if self.block is not None:
            self.block.wait()
        if self.stepped:
            with self._cond:
                self.reads += 1
                self._cond.notify_all()
                self._cond.wait_for(lambda: self.count < self.allowed or not self.stepped)
                if self.count < self.allowed:
                    return True, self._next()
        time.sleep(self.period)
        if self.raise_after is not None and self.count >= self.raise_after:
            raise RuntimeError("driver crashed")
        if self.empty_after is not None and self.count >= self.empty_after:
            return False, None
        return True, self._next()

    def _next(self):
        image = coded_frame(self.count, (24, 32))
        self.count += 1
        return image

    def deliver(self, n=1):
        """Lets ``n`` frames through; returns once the grabber stored them and reads again."""
        with self._cond:
            self.allowed += n
            self._cond.notify_all()
            # One read() per frame, plus the one now waiting for the next frame.
            arrived = self._cond.wait_for(lambda: self.reads > self.allowed, timeout=60)
        assert arrived, f"the grabber took {self.count} of {self.allowed} frames"

    def run_free(self):
        """Back to a frame every ``period`` (lets a grabber blocked in read() stop)."""
        with self._cond:
            self.stepped = False
            self._cond.notify_all()

    def isOpened(self):  # noqa: N802 - cv2.VideoCapture's name
        return not self.released

    def get(self, prop):
        return 1 / self.period if prop == cv2.CAP_PROP_FPS else 0.0

    def release(self):
        self.released = True


def grabber_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("moodlens-grabber")]


def test_a_slow_consumer_always_gets_the_newest_frame():
    camera = FakeCamera(stepped=True)
    source = CameraSource.from_capture(camera, description="fake camera")
    assert source.live and source.fps == pytest.approx(200.0)
    source._grabber.start()
    frames_iter = iter(source)
    frames = []
    for _ in range(8):
        camera.deliver(6)  # processing is 6 camera frames slow
        frame = next(frames_iter)
        assert frame.index == camera.count - 1, "not the newest frame"
        frames.append(frame)
    dropped = source.dropped
    camera.run_free()
    source.close()

    indices = [f.index for f in frames]
    stamps = [f.timestamp for f in frames]
    assert indices == [6 * i + 5 for i in range(8)]
    assert [frame_number(f.image) for f in frames] == indices  # index counts camera frames
    assert stamps == sorted(set(stamps))
    assert dropped == 8 * 5  # every frame replaced before the consumer took it


def test_a_fast_consumer_waits_for_each_new_frame_and_drops_nothing():
    camera = FakeCamera(stepped=True)
    with CameraSource.from_capture(camera) as source:
        source._grabber.start()
        frames_iter = iter(source)
        frames = []
        for _ in range(5):
            taken = []
            reader = threading.Thread(
                target=lambda out: out.append(next(frames_iter)), args=(taken,)
            )
            reader.start()
            camera.deliver(1)
            reader.join(60)
            assert taken, "the reader did not get the frame the camera delivered"
            frames.extend(taken)
        dropped = source.dropped
        camera.run_free()
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    assert np.all(np.diff([f.timestamp for f in frames]) > 0)
    assert dropped == 0


def test_close_stops_the_thread_and_releases_the_camera_once():
    camera = FakeCamera()
    source = CameraSource.from_capture(camera)
    frames = iter(source)
    next(frames)
    assert source._grabber.running and len(grabber_threads()) == 1
    source.close()
    assert not source._grabber.running and grabber_threads() == []
    assert camera.released and camera.reads_after_release == 0
    source.close()  # safe twice
    assert list(frames) == []  # a closed camera ends the iteration
    with pytest.raises(SourceError, match="already read"):
        next(iter(source))


def test_close_from_another_thread_wakes_a_waiting_reader():
    gate = threading.Event()  # the camera delivers nothing until the test is done
    camera = FakeCamera(block=gate)
    grabber = LatestFrameGrabber(camera, name="gated", stall_timeout=30.0)
    got = []
    reader = threading.Thread(target=lambda: got.append(grabber.read()))
    reader.start()
    # The reader started the grabber, whose thread is now blocked in the camera's read().
    assert camera.read_began.wait(60)
    closer = threading.Thread(target=grabber.close)
    closer.start()
    reader.join(60)  # woken by close(), not by a frame: the camera is still blocked
    assert not reader.is_alive() and got == [None] and camera.count == 0
    gate.set()  # the pending read returns; the thread then ends and releases the camera
    closer.join(60)
    assert not grabber.running and camera.released


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        ({"raise_after": 3}, "failed while reading: RuntimeError: driver crashed"),
        ({"empty_after": 3}, "stopped delivering frames"),
    ],
    ids=["read raises", "empty reads"],
)
def test_a_failing_camera_raises_source_error_on_the_next_read(failure, message):
    camera = FakeCamera(stepped=True, **failure)
    source = CameraSource.from_capture(camera, description="fake camera")
    source._grabber.start()
    frames_iter = iter(source)
    frames = []
    for _ in range(3):
        camera.deliver(1)
        frames.append(next(frames_iter))
    camera.run_free()  # its next read fails
    with pytest.raises(SourceError, match=message):
        next(frames_iter)
    assert [f.index for f in frames] == [0, 1, 2]  # every good frame came first
    assert camera.released and not source._grabber.running
    source.close()


def test_a_stalled_camera_raises_source_error_instead_of_hanging():
    gate = threading.Event()
    source = CameraSource.from_capture(FakeCamera(block=gate), stall_timeout=0.2)
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"delivered no frame for 0.2 s"):
        next(iter(source))
    assert time.monotonic() - started < 5.0  # bounded, with room for a loaded machine
    gate.set()
    source.close()
    assert not source._grabber.running


def test_a_capture_that_is_not_opened_is_refused():
    camera = FakeCamera()
    camera.released = True
    with pytest.raises(SourceError, match="not opened"):
        CameraSource.from_capture(camera, description="cam")


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"failed_reads": 0}, "failed_reads"), ({"stall_timeout": 0}, "stall")]
)
def test_bad_grabber_settings(kwargs, message):
    with pytest.raises(OptionsError, match=message):
        LatestFrameGrabber(FakeCamera(), **kwargs)


class CameraPacedDetector(ScriptedDetector):
    """A detector slower than the camera: ``frames_per_detect`` frames arrive per frame."""

    def __init__(self, script, camera, frames_per_detect):
        super().__init__(script)
        self.camera, self.frames_per_detect = camera, frames_per_detect

    def detect(self, image, *, boxes=None, rgb=False):
        self.camera.deliver(self.frames_per_detect)
        return super().detect(image, boxes=boxes, rgb=rgb)


FACE = Box(4, 4, 16, 16)
HAPPY = [[(FACE, scores("happy", 0.9))]] * 60000


def test_a_stream_slower_than_its_camera_stays_live_and_counts_dropped_frames():
    recorder = Recorder()
    camera = FakeCamera(stepped=True)
    source = CameraSource.from_capture(camera, description="fake camera")
    source._grabber.start()
    camera.deliver(1)
    stream = MoodStream(
        source,
        detector=CameraPacedDetector(HAPPY, camera, 3),
        options=MoodStreamOptions(half_life=0.0, hold=0.0),
        plugins=[recorder],
    )
    readings, changes = [], []
    with stream:
        for reading in stream:
            readings.append(reading)
            changes.extend(stream.last_changes)
            if len(readings) == 12:
                break
        stats = stream.stats
        camera.run_free()
    changes.extend(stream.last_changes)
    indices = [r.frame_index for r in readings]
    # Each frame is the newest at its read: of the 3 that arrive while one frame is
    # processed, 2 are replaced unseen (after the 12th, the newest is still pending).
    assert indices == [0] + [3 * i for i in range(1, 12)]
    assert stats.frames == 12 and stats.dropped_frames == 12 * 2
    stamps = [r.timestamp for r in readings]
    assert stamps == sorted(set(stamps))
    assert readings[-1].mood is not None
    assert_complete_sequence(recorder.events, changes, reason="closed")
    assert not source._grabber.running


def test_closing_a_camera_stream_from_another_thread_stops_the_loop():
    recorder = Recorder()
    source = CameraSource.from_capture(FakeCamera(), description="fake camera")
    detector = ScriptedDetector(HAPPY)
    stream = MoodStream(source, detector=detector, plugins=[recorder])
    seen, errors = [], []
    five = threading.Event()

    def loop():
        try:
            for reading in stream:
                seen.append(reading)
                if len(seen) == 5:
                    five.set()
        except BaseException as exc:  # the test reports it below
            errors.append(exc)
        finally:
            five.set()

    worker = threading.Thread(target=loop)
    worker.start()
    assert five.wait(60) and not errors
    summary = stream.close()
    worker.join(60)
    assert not worker.is_alive() and errors == []
    assert summary.reason == "closed"
    kinds = recorder.kinds()
    assert kinds[0] == "started" and kinds[-1] == "stopped" and kinds.count("stopped") == 1
    assert not source._grabber.running and not detector.closed
    assert stream.close() is summary
