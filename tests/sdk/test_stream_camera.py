"""Cameras: a background grabber keeps the newest frame, so a slow stream stays live.

No camera is needed: a fake capture stands in for cv2.VideoCapture (``read() -> (ok,
image)``), delivering a numbered frame every few milliseconds.
"""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest
from moodlens import Box, SourceError
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
    event before each frame (a stuck driver).
    """

    def __init__(self, *, period=PERIOD, empty_after=None, raise_after=None, block=None):
        self.period, self.empty_after, self.raise_after = period, empty_after, raise_after
        self.block = block
        self.count = 0  # good frames delivered
        self.released = False
        self.reads_after_release = 0

    def read(self):
        if self.released:
            self.reads_after_release += 1
        if self.block is not None:
            self.block.wait()
        time.sleep(self.period)
        if self.raise_after is not None and self.count >= self.raise_after:
            raise RuntimeError("driver crashed")
        if self.empty_after is not None and self.count >= self.empty_after:
            return False, None
        image = coded_frame(self.count, (24, 32))
        self.count += 1
        return True, image

    def isOpened(self):  # noqa: N802 - cv2.VideoCapture's name
        return not self.released

    def get(self, prop):
        return 1 / self.period if prop == cv2.CAP_PROP_FPS else 0.0

    def release(self):
        self.released = True


def grabber_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("moodlens-grabber")]


def test_a_slow_consumer_always_gets_the_newest_frame():
    camera = FakeCamera()
    source = CameraSource.from_capture(camera, description="fake camera")
    assert source.live and source.fps == pytest.approx(200.0)
    frames, lags = [], []
    frames_iter = iter(source)
    for _ in range(8):
        time.sleep(0.03)  # processing is 6 camera frames slow
        delivered_before = camera.count
        frame = next(frames_iter)
        lags.append(time.monotonic() - source._start - frame.timestamp)
        frames.append(frame)
        # Newest at read time: at most the frame being stored is newer.
        assert frame.index >= delivered_before - 2, (frame.index, delivered_before)
    source.close()

    indices = [f.index for f in frames]
    stamps = [f.timestamp for f in frames]
    assert [frame_number(f.image) for f in frames] == indices  # index counts camera frames
    assert indices == sorted(set(indices)) and stamps == sorted(set(stamps))
    assert max(lags) < 0.25, f"stale frames: {lags}"
    grabber = source._grabber
    skipped_between = indices[-1] + 1 - len(frames)
    pending = int(indices[-1] != grabber.grabbed - 1)  # only the newest can be left untaken
    assert source.dropped == grabber.grabbed - len(frames) - pending
    assert source.dropped >= skipped_between >= 8  # about 5 frames skipped per read


def test_a_fast_consumer_waits_for_each_new_frame_and_drops_nothing():
    camera = FakeCamera(period=0.02)
    with CameraSource.from_capture(camera) as source:
        frames = []
        for frame in source:
            frames.append(frame)
            if len(frames) == 5:
                break
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    assert np.all(np.diff([f.timestamp for f in frames]) > 0.01)
    assert source.dropped == 0


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
    time.sleep(0.1)
    closer = threading.Thread(target=grabber.close)
    closer.start()
    reader.join(1.0)
    assert not reader.is_alive() and got == [None]
    gate.set()  # the pending read returns; the thread then ends and releases the camera
    closer.join(3.0)
    assert not grabber.running and camera.released


@pytest.mark.parametrize(
    ("camera", "message"),
    [
        (FakeCamera(raise_after=3), "failed while reading: RuntimeError: driver crashed"),
        (FakeCamera(empty_after=3), "stopped delivering frames"),
    ],
    ids=["read raises", "empty reads"],
)
def test_a_failing_camera_raises_source_error_on_the_next_read(camera, message):
    source = CameraSource.from_capture(camera, description="fake camera")
    frames = []
    with pytest.raises(SourceError, match=message):
        for frame in source:
            frames.append(frame)
            time.sleep(0.01)
    assert 1 <= len(frames) <= 3
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
    with pytest.raises(ValueError, match=message):
        LatestFrameGrabber(FakeCamera(), **kwargs)


class SlowDetector(ScriptedDetector):
    """A detector that takes ``delay`` seconds a frame: slower than the camera."""

    def __init__(self, script, delay):
        super().__init__(script)
        self.delay = delay

    def find_faces(self, image, *, near=None, rgb=False):
        time.sleep(self.delay)
        return super().find_faces(image, near=near, rgb=rgb)


FACE = Box(4, 4, 16, 16)
HAPPY = [[(FACE, scores("happy", 0.9))]] * 60000


def test_a_stream_slower_than_its_camera_stays_live_and_counts_dropped_frames():
    recorder = Recorder()
    source = CameraSource.from_capture(FakeCamera(), description="fake camera")
    stream = MoodStream(
        source,
        detector=SlowDetector(HAPPY, 0.025),
        options=MoodStreamOptions(half_life=0.05, hold=0.05),
        plugins=[recorder],
    )
    readings, changes = [], []
    with stream:
        for reading in stream:
            readings.append(reading)
            changes.extend(stream.last_changes)
            if len(readings) == 12:
                break
    stamps = [r.timestamp for r in readings]
    indices = [r.frame_index for r in readings]
    assert stamps == sorted(set(stamps)) and indices == sorted(set(indices))
    # Every camera frame is either processed or counted as dropped (no timing assumed);
    # with a 25 ms detector and a 200 fps camera, some are always dropped.
    assert stream.stats.frames == 12 and stream.stats.dropped_frames > 0
    assert indices[-1] - indices[0] + 1 <= 12 + stream.stats.dropped_frames
    assert readings[-1].mood is not None
    assert_complete_sequence(recorder.events, changes, reason="closed")
    assert not source._grabber.running


def test_closing_a_camera_stream_from_another_thread_stops_the_loop():
    recorder = Recorder()
    source = CameraSource.from_capture(FakeCamera(), description="fake camera")
    detector = SlowDetector(HAPPY, 0.01)
    stream = MoodStream(source, detector=detector, plugins=[recorder])
    seen, errors = [], []

    def loop():
        try:
            for reading in stream:
                seen.append(reading)
        except BaseException as exc:  # the test reports it below
            errors.append(exc)

    worker = threading.Thread(target=loop)
    worker.start()
    while len(seen) < 5 and worker.is_alive():
        time.sleep(0.01)
    summary = stream.close()
    worker.join(3.0)
    assert not worker.is_alive() and errors == []
    assert summary.reason == "closed"
    kinds = recorder.kinds()
    assert kinds[0] == "started" and kinds[-1] == "stopped" and kinds.count("stopped") == 1
    assert not source._grabber.running and not detector.closed
    assert stream.close() is summary
