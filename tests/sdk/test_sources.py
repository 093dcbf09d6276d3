"""Frame sources: the right clock for each kind, and a clear SourceError for what cannot be read."""

from __future__ import annotations

import queue

import cv2
import numpy as np
import pytest
from moodlens import OptionsError, SourceError
from moodlens._sources import (
    CameraSource,
    Frame,
    ImageFilesSource,
    IterableSource,
    VideoSource,
    _ReadAhead,
    open_source,
)

from ._stream_support import face_crop, write_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample_bgr):
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    return write_clip(path, face_crop(sample_bgr), frames=12, fps=25.0)


def test_video_timestamps_come_from_the_video_clock(clip):
    with open_source(clip) as source:
        assert isinstance(source, VideoSource)
        assert source.fps == pytest.approx(25.0) and source.frame_count == 12
        frames = list(source)
    assert [f.index for f in frames] == list(range(12))
    np.testing.assert_allclose([f.timestamp for f in frames], np.arange(12) / 25.0, atol=1e-6)
    assert frames[0].image.shape == (240, 320, 3)


def test_video_frames_decoded_ahead_are_those_read_in_order(clip):
    capture = cv2.VideoCapture(str(clip))
    expected = []
    while (read := capture.read())[0]:
        expected.append(read[1])
    capture.release()
    with VideoSource(clip) as source:
        got = [f.image for f in source]
    assert len(got) == len(expected) == 12
    assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))


def _read_ahead_threads() -> int:
    import threading

    return sum(t.name == "moodlens-read-ahead" and t.is_alive() for t in threading.enumerate())


def test_leaving_a_video_half_way_stops_its_decoding_thread(clip):
    before = _read_ahead_threads()
    source = VideoSource(clip)
    frames = iter(source)
    next(frames)
    assert _read_ahead_threads() == before + 1
    source.close()
    source.close()  # safe twice
    assert _read_ahead_threads() == before


class _FailingCapture:
    """A capture whose decoder gives two frames, then raises."""

    def __init__(self) -> None:
        self.reads = 0

    def read(self):
        self.reads += 1
        if self.reads > 2:
            raise cv2.error("decoder crashed")
        return True, np.zeros((4, 4, 3), np.uint8)

    def get(self, prop):
        return 40.0 * self.reads


def test_closing_from_another_thread_ends_a_waiting_reader():
    import threading

    class Stalled:  # a decoder that never delivers a second frame
        def read(self):
            threading.Event().wait(0.5)
            return False, None

        def get(self, prop):
            return 0.0

    reader = _ReadAhead(Stalled(), "stalled.mp4")
    reader.start()
    threading.Timer(0.1, reader.stop).start()
    assert reader.next() is None


def test_a_decoder_failure_while_reading_ahead_is_a_source_error():
    reader = _ReadAhead(_FailingCapture(), "broken.mp4")
    reader.start()
    assert reader.next()[1] == 40.0 and reader.next()[1] == 80.0
    with pytest.raises(SourceError, match="broken.mp4.*failed while decoding"):
        reader.next()
    reader.stop()


def test_realtime_video_is_paced_by_its_clock(clip):
    import time

    start = time.monotonic()
    frames = list(VideoSource(clip, realtime=True))
    assert time.monotonic() - start >= frames[-1].timestamp * 0.95


def test_image_folder_is_sorted_and_one_image_per_second(tmp_path, sample_bgr):
    for name in ("b.png", "a.jpg", "notes.txt"):
        if name.endswith("txt"):
            (tmp_path / name).write_text("not an image")
        else:
            cv2.imwrite(str(tmp_path / name), sample_bgr)
    source = open_source(tmp_path)
    assert isinstance(source, ImageFilesSource) and source.frame_count == 2
    frames = list(source)
    assert [f.timestamp for f in frames] == [0.0, 1.0]
    assert [p.name for p in source.files] == ["a.jpg", "b.png"]
    assert [f.timestamp for f in open_source(tmp_path, fps=4.0)] == [0.0, 0.25]


@pytest.mark.parametrize(
    ("items", "fps", "expected"),
    [
        ([(np.zeros((4, 4), np.uint8), 1.5), (np.zeros((4, 4), np.uint8), 2.0)], None, [1.5, 2.0]),
        ([np.zeros((4, 4), np.uint8)] * 3, 10.0, [0.0, 0.1, 0.2]),
        ([Frame(np.zeros((4, 4), np.uint8), 7.0, 99)], None, [7.0]),
    ],
)
def test_iterable_timestamps(items, fps, expected):
    frames = list(open_source(iter(items), fps=fps))
    np.testing.assert_allclose([f.timestamp for f in frames], expected)
    assert [f.index for f in frames] == list(range(len(items)))


def test_iterable_without_timestamps_uses_the_monotonic_clock():
    def slow():
        import time

        for _ in range(3):
            time.sleep(0.02)
            yield np.zeros((4, 4), np.uint8)

    stamps = [f.timestamp for f in IterableSource(slow())]
    assert stamps == sorted(stamps) and stamps[-1] - stamps[0] >= 0.03


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: open_source(tmp / "missing.mp4"), "does not exist"),
        (lambda tmp: open_source(_text_file(tmp, "fake.mp4")), "cannot be opened|no frame"),
        (lambda tmp: open_source(tmp / "missing.jpg"), "does not exist"),
        (lambda tmp: open_source(_empty_dir(tmp)), "holds no images"),
        (lambda tmp: list(open_source([_text_file(tmp, "bad.png")])), "cannot be decoded"),
        (lambda tmp: CameraSource(97), "camera 97 cannot be opened|delivered no frame"),
        (lambda tmp: open_source(3.5), "source is a float"),
        (lambda tmp: list(open_source([object()])), "must yield uint8 arrays"),
        (lambda tmp: list(open_source([np.zeros((4, 4), np.float32)])), "float32 array"),
        (
            lambda tmp: list(
                open_source(
                    [(np.zeros((4, 4), np.uint8), 2.0)] + [(np.zeros((4, 4), np.uint8), 1.0)]
                )
            ),
            "must not decrease",
        ),
    ],
)
def test_unreadable_sources_raise_source_error(tmp_path, make, message):
    with pytest.raises(SourceError, match=message):
        make(tmp_path)


@pytest.mark.parametrize(
    "make",
    [
        lambda tmp: ImageFilesSource([_text_file(tmp, "a.png")], fps=0),
        lambda tmp: IterableSource([], fps=-1.0),
        lambda tmp: open_source([_text_file(tmp, "a.png")], fps=-2.0),
    ],
)
def test_a_frame_rate_that_is_not_positive_is_an_options_error(tmp_path, make):
    with pytest.raises(OptionsError, match="fps must be a positive number"):
        make(tmp_path)


def _text_file(tmp, name):
    path = tmp / name
    path.write_text("this is not media")
    return path


def _empty_dir(tmp):
    (tmp / "empty").mkdir()
    return tmp / "empty"


def test_arrays_of_frames(sample_bgr):
    assert len(list(open_source(sample_bgr))) == 1
    stack = np.stack([sample_bgr] * 3)
    assert [f.timestamp for f in open_source(stack, fps=2.0)] == [0.0, 0.5, 1.0]


def test_an_undecodable_image_is_skipped_counted_and_logged(tmp_path, sample_bgr, caplog):
    for name in ("a.png", "c.png"):
        cv2.imwrite(str(tmp_path / name), sample_bgr)
    _text_file(tmp_path, "b.png")
    source = open_source(tmp_path)
    frames = list(source)
    assert [f.index for f in frames] == [0, 2] and [f.timestamp for f in frames] == [0.0, 2.0]
    assert source.skipped == 1
    assert "b.png" in caplog.text and "skipped" in caplog.text
    with pytest.raises(SourceError, match="b.png.*cannot be decoded"):
        list(ImageFilesSource([tmp_path], skip_unreadable=False))


def test_when_no_image_can_be_decoded_iterating_raises(tmp_path):
    paths = [_text_file(tmp_path, f"{n}.png") for n in "ab"]
    source = ImageFilesSource(paths)
    with pytest.raises(SourceError, match="b.png.*cannot be decoded"):
        list(source)
    assert source.skipped == 1


class _SlowCapture:
    """Reads take 0.2 s; records a release that comes during a read (FFmpeg deadlocks)."""

    def __init__(self) -> None:
        import threading

        self.reading = threading.Event()
        self.released_during_read = False
        self.releases = 0

    def read(self):
        self.reading.set()
        import time

        time.sleep(0.2)
        self.reading.clear()
        return True, np.zeros((4, 4, 3), np.uint8)

    def get(self, prop):
        return 0.0

    def release(self):
        self.released_during_read |= self.reading.is_set()
        self.releases += 1


def test_ctrl_c_while_closing_never_releases_under_a_read(monkeypatch):
    import time

    capture = _SlowCapture()
    reader = _ReadAhead(capture, "slow.mp4")
    reader.start()
    assert capture.reading.wait(1.0)

    def interrupted() -> None:  # Ctrl-C (or an app's SIGTERM handler) cuts the wait short
        reader._stopping.set()
        raise KeyboardInterrupt

    monkeypatch.setattr(reader, "stop", interrupted)
    with pytest.raises(KeyboardInterrupt):
        reader.close()
    deadline = time.monotonic() + 2.0
    while capture.releases == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert capture.releases == 1 and not capture.released_during_read


def test_closing_before_the_thread_starts_releases_at_once():
    capture = _SlowCapture()
    reader = _ReadAhead(capture, "never.mp4")
    reader.close()
    reader.start()  # too late: it reads nothing
    reader.stop()
    assert capture.releases == 1 and not capture.reading.is_set()


def test_a_frame_put_just_after_a_wait_timed_out_is_not_lost(clip, monkeypatch):
    """The thread may put its last frames and end between a wait timing out and the check
    whether it still runs: those frames (or the decoder's error) must still come out."""
    capture = cv2.VideoCapture(str(clip))
    reader = _ReadAhead(capture, "clip.mp4")
    reader.start()
    frames = [reader.next() for _ in range(11)]  # of 12: the 12th and the end stay queued
    reader._thread.join(5.0)
    assert not reader._thread.is_alive()
    real_get = reader._queue.get
    timed_out = []

    def get(*args, **kwargs):  # the first wait times out although items are queued
        if not timed_out:
            timed_out.append(True)
            raise queue.Empty
        return real_get(*args, **kwargs)

    monkeypatch.setattr(reader._queue, "get", get)
    last = reader.next()
    assert all(f is not None for f in frames) and timed_out
    assert last is not None and last[0].shape == frames[0][0].shape
    assert reader.next() is None
    reader.close()
