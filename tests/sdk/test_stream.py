"""MoodStream: readings per frame, steady moods and their changes, tracking, and stopping."""

from __future__ import annotations

import threading

import pytest
from moodlens import Box, Emotion, ModelError, MoodlensError, OptionsError
from moodlens._stream import MoodStream, MoodStreamOptions

from ._stream_support import (
    Recorder,
    ScriptedDetector,
    assert_complete_sequence,
    coded_frame,
    face_crop,
    scores,
    write_clip,
)

FACE = Box(40, 30, 50, 50)
FAST = MoodStreamOptions(half_life=0.2, hold=0.3, lost_after=0.5)


def scripted(moods, *, fps=10.0, box=FACE, options=FAST, plugins=()):
    """A stream of one face whose raw top emotion per frame is ``moods[i]`` (None: no face)."""
    script = [[] if m is None else [(box, scores(m, 0.8))] for m in moods]
    frames = [(coded_frame(i), i / fps) for i in range(len(moods))]
    detector = ScriptedDetector(script)
    return MoodStream(frames, detector=detector, options=options, plugins=plugins), detector


def collect(stream):
    readings, changes = [], []
    with stream:
        for reading in stream:
            readings.append(reading)
            changes.extend(stream.last_changes)
    changes.extend(stream.last_changes)  # after the stop: the faces still in view end
    return readings, changes


def test_one_reading_per_frame_with_source_timestamps():
    stream, _ = scripted(["happy"] * 5)
    readings, _ = collect(stream)
    assert [r.frame_index for r in readings] == list(range(5))
    assert [r.timestamp for r in readings] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert all(r.wall_time.tzinfo is not None for r in readings)
    assert stream.summary.reason == "end" and stream.summary.frames == 5
    assert stream.summary.duration == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("name", "moods", "expected"),
    [
        (
            "settles once, ends with the stream",
            ["happy"] * 10,
            [(1, None, "happy"), (None, None, "happy"), (1, "happy", None), (None, "happy", None)],
        ),
        (
            "a one-frame blip changes nothing",
            ["happy"] * 6 + ["sad"] + ["happy"] * 6,
            [(1, None, "happy"), (None, None, "happy"), (1, "happy", None), (None, "happy", None)],
        ),
        (
            "a real change is reported for the face and the scene",
            ["happy"] * 8 + ["sad"] * 12,
            [
                (1, None, "happy"),
                (None, None, "happy"),
                (1, "happy", "sad"),
                (None, "happy", "sad"),
                (1, "sad", None),
                (None, "sad", None),
            ],
        ),
        (
            "the face leaving ends its mood",
            ["neutral"] * 6 + [None] * 10,
            [
                (1, None, "neutral"),
                (None, None, "neutral"),
                (1, "neutral", None),
                (None, "neutral", None),
            ],
        ),
        ("never settles when too short", ["happy"] * 2, []),
    ],
)
def test_mood_changes_only_on_real_changes(name, moods, expected):
    readings, changes = collect(scripted(moods)[0])
    got = [
        (
            c.face_id,
            c.previous.value if c.previous else None,
            c.current.value if c.current else None,
        )
        for c in changes
    ]
    assert got == expected, name
    for change in changes:
        assert readings[0].timestamp <= change.at <= readings[-1].timestamp


def test_reading_carries_tracked_faces_with_smoothed_scores_and_scene_mood():
    readings, _ = collect(scripted(["happy"] * 8)[0])
    last = readings[-1]
    (face,) = last.faces
    assert face.face_id == 1 and face.face.box == FACE
    assert face.mood is Emotion.HAPPY and last.mood is Emotion.HAPPY
    assert last.scores[Emotion.HAPPY] == pytest.approx(0.8)
    assert readings[0].mood is None  # not settled yet


def test_scene_mood_follows_the_main_face():
    big, small = Box(10, 10, 80, 80), Box(120, 10, 30, 30)
    script = [[(big, scores("happy", 0.9)), (small, scores("angry", 0.9))]] * 10
    frames = [(coded_frame(i), i / 10) for i in range(10)]
    stream = MoodStream(frames, detector=ScriptedDetector(script), options=FAST)
    readings, changes = collect(stream)
    assert readings[-1].mood is Emotion.HAPPY
    assert [f.face_id for f in readings[-1].faces] == [1, 2]  # largest first
    assert {(c.face_id, c.current) for c in changes if c.current} == {
        (1, Emotion.HAPPY),
        (2, Emotion.ANGRY),
        (None, Emotion.HAPPY),
    }
    # At the stop, both faces and the scene end, each once.
    assert sorted((c.face_id or 0, c.previous) for c in changes if not c.current) == [
        (0, Emotion.HAPPY),
        (1, Emotion.HAPPY),
        (2, Emotion.ANGRY),
    ]


def test_tracking_searches_near_known_faces_between_full_detections():
    moods = ["happy"] * 30
    tracked, det_tracked = scripted(moods, options=MoodStreamOptions(detect_every=10))
    collect(tracked)
    assert (det_tracked.full, det_tracked.near) == (3, 27)
    assert tracked.stats.full_detections == 3 and tracked.stats.near_detections == 27
    plain, det_plain = scripted(moods, options=MoodStreamOptions(tracking=False))
    collect(plain)
    assert (det_plain.full, det_plain.near) == (30, 0)


def test_a_face_lost_near_its_box_triggers_a_full_search():
    # The face jumps across the frame at frame 5: the near search misses it.
    script = [[(FACE, scores("happy"))]] * 5 + [[(Box(250, 60, 50, 50), scores("happy"))]] * 5
    frames = [(coded_frame(i, (200, 320)), i / 10) for i in range(10)]
    detector = ScriptedDetector(script)
    readings, _ = collect(MoodStream(frames, detector=detector, options=FAST))
    assert detector.full >= 2
    assert readings[5].faces and readings[5].faces[0].face.box == Box(250, 60, 50, 50)


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("end", "end"),
        ("close", "closed"),
        ("break", "closed"),
        ("raise", "error"),
        ("ctrl-c", "interrupted"),
    ],
)
def test_every_way_of_stopping_delivers_stream_stopped(how, reason):
    recorder = Recorder()
    stream, detector = scripted(["happy"] * 20, plugins=[recorder])
    seen, changes = 0, []
    try:
        with stream:
            for _ in stream:
                changes.extend(stream.last_changes)
                seen += 1
                if seen == 5 and how == "close":
                    stream.close()
                    break
                if seen == 5 and how == "break":
                    break
                if seen == 5 and how == "raise":
                    raise ValueError("user code failed")
                if seen == 5 and how == "ctrl-c":
                    raise KeyboardInterrupt
    except (ValueError, KeyboardInterrupt):
        pass
    final = stream.last_changes  # the stop ends the face still in view, and the scene
    assert [(c.face_id, c.previous, c.current) for c in final] == [
        (1, Emotion.HAPPY, None),
        (None, Emotion.HAPPY, None),
    ]
    changes.extend(final)
    frames = 20 if how == "end" else 5
    assert_complete_sequence(recorder.events, changes, frames=frames, reason=reason)
    assert recorder.of("stopped")[0].frames == frames
    assert len(recorder.of("reading")) == frames
    assert not detector.closed  # a detector passed in belongs to the caller


def test_ctrl_c_inside_the_frame_loop_is_reported_as_interrupted():
    recorder = Recorder()

    def frames():
        for i in range(100):
            if i == 7:
                raise KeyboardInterrupt
            yield coded_frame(i), i / 10

    script = [[(FACE, scores("happy"))]] * 100
    stream = MoodStream(frames(), detector=ScriptedDetector(script), plugins=[recorder])
    changes = []
    with pytest.raises(KeyboardInterrupt):
        for _ in stream:
            changes.extend(stream.last_changes)
    changes.extend(stream.last_changes)
    assert_complete_sequence(recorder.events, changes, frames=7, reason="interrupted")
    assert changes  # the mood had settled before Ctrl-C


def test_run_calls_back_and_returns_the_summary():
    stream, _ = scripted(["happy"] * 10)
    got_readings, got_changes = [], []
    summary = stream.run(on_reading=got_readings.append, on_change=got_changes.append)
    assert summary.reason == "end" and len(got_readings) == 10
    assert [c.current for c in got_changes] == [Emotion.HAPPY, Emotion.HAPPY, None, None]


def test_a_stopped_stream_cannot_be_read_again():
    stream, _ = scripted(["happy"] * 3)
    collect(stream)
    with pytest.raises(MoodlensError, match="create a new one"):
        iter(stream)
    assert stream.close().reason == "end"  # close after the end keeps the first reason


@pytest.mark.parametrize(
    "kwargs",
    [
        {"half_life": -1},
        {"hold": -1},
        {"detect_every": 0},
        {"fps": 0},
        {"min_confidence": 2},
        {"queue_size": 0},
        {"stop_timeout": -1},
    ],
)
def test_bad_options_name_the_option(kwargs):
    with pytest.raises(OptionsError, match=next(iter(kwargs))) as raised:
        MoodStreamOptions(**kwargs)
    # One error for every moodlens mistake, and still a ValueError for older callers.
    assert isinstance(raised.value, MoodlensError) and isinstance(raised.value, ValueError)


# -- with the real detector and the bundled model --------------------------------------------
@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample_bgr):
    path = tmp_path_factory.mktemp("stream") / "clip.mp4"
    return write_clip(path, face_crop(sample_bgr), frames=60, fps=15.0, gap=(20, 40))


def test_video_clip_with_the_bundled_model(clip, detector):
    recorder = Recorder()
    readings, changes = [], []
    with MoodStream(clip, detector=detector, plugins=[recorder]) as stream:
        for reading in stream:
            readings.append(reading)
            changes.extend(stream.last_changes)
    assert len(readings) == 60
    ids_before = {f.face_id for r in readings[2:18] for f in r.faces}
    ids_after = {f.face_id for r in readings[42:] for f in r.faces}
    assert len(ids_before) == 1 and len(ids_after) == 1  # stable ids while the face is there
    assert ids_before != ids_after  # the face left for longer than lost_after: a new track
    assert not any(r.faces for r in readings[21:39])
    assert readings[15].mood is Emotion.HAPPY  # the sample face is happy
    assert stream.stats.near_detections > stream.stats.full_detections
    changes.extend(stream.last_changes)
    assert_complete_sequence(recorder.events, changes, frames=60, reason="end")
    assert [c.current for c in recorder.of("changed") if c.face_id is None] == [
        Emotion.HAPPY,
        None,  # the face left
        Emotion.HAPPY,  # it came back
        None,  # the stream ended with it in view
    ]


# -- the pipeline: a frame's faces classified on a worker while the next frame's are found --
def _classify_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("moodlens-classify")]


def _spy_on_scoring(monkeypatch, detector, fail_at=None):
    """Records the thread of each scoring call; the ``fail_at``-th call raises."""
    threads: list[str] = []
    score = detector._score

    def spy(*args, **kwargs):
        threads.append(threading.current_thread().name)
        if len(threads) == fail_at:
            raise ModelError("the model broke")
        return score(*args, **kwargs)

    monkeypatch.setattr(detector, "_score", spy)
    return threads


def _changes(recorder):
    return [(c.face_id, c.previous, c.current, c.at) for c in recorder.of("changed")]


def test_pipelined_readings_are_those_of_one_frame_at_a_time(clip, detector, monkeypatch):
    threads = _spy_on_scoring(monkeypatch, detector)
    runs = {}
    for pipeline in (False, True):
        recorder = Recorder()
        options = MoodStreamOptions(pipeline=pipeline)
        readings = []
        with MoodStream(clip, detector=detector, options=options, plugins=[recorder]) as stream:
            for reading in stream:
                readings.append(reading)
                assert stream.last_frame is not None
                assert stream.last_frame.index == reading.frame_index
        runs[pipeline] = readings, recorder, sorted(set(threads))
        threads.clear()
    (serial, serial_rec, serial_threads), (piped, piped_rec, piped_threads) = (
        runs[False],
        runs[True],
    )
    assert serial_threads == ["MainThread"]
    # Frames with faces were classified on the worker (frames without any, at once).
    assert "MainThread" in piped_threads and any(
        t.startswith("moodlens-classify") for t in piped_threads
    )
    assert len(piped) == len(serial) == 60
    for a, b in zip(serial, piped, strict=True):
        assert (a.frame_index, a.timestamp, a.mood) == (b.frame_index, b.timestamp, b.mood)
        assert [(f.face_id, f.face.box, f.mood) for f in a.faces] == [
            (f.face_id, f.face.box, f.mood) for f in b.faces
        ]
        for fa, fb in zip(a.faces, b.faces, strict=True):
            assert fb.face.scores == pytest.approx(fa.face.scores, abs=1e-6)
            assert fb.face.score == pytest.approx(fa.face.score)
    assert _changes(piped_rec) == _changes(serial_rec) and len(_changes(serial_rec)) >= 4
    assert len(piped_rec.of("reading")) == 60
    assert not _classify_threads()  # the worker ends with the stream


def test_a_scoring_error_on_the_worker_ends_the_stream_with_it(clip, detector, monkeypatch):
    _spy_on_scoring(monkeypatch, detector, fail_at=5)
    recorder = Recorder()
    readings = []
    with pytest.raises(ModelError, match="the model broke"):
        with MoodStream(clip, detector=detector, plugins=[recorder]) as stream:
            for reading in stream:
                readings.append(reading)
    assert [r.frame_index for r in readings] == [0, 1, 2, 3]  # the frames before it
    assert stream.summary is not None and stream.summary.reason == "error"
    assert [s.reason for s in recorder.of("stopped")] == ["error"]
    assert not _classify_threads()


def test_a_pipelined_stream_closed_from_another_thread_stops_after_the_reading_in_hand(
    clip, detector
):
    recorder = Recorder()
    got = []
    with MoodStream(clip, detector=detector, plugins=[recorder]) as stream:
        for reading in stream:
            got.append(reading.frame_index)
            if len(got) == 10:
                closer = threading.Thread(target=stream.close)
                closer.start()
                closer.join()
    assert got == list(range(10))
    assert stream.summary is not None and stream.summary.reason == "closed"
    assert len(recorder.of("reading")) == 10
    assert not _classify_threads()


def test_a_detector_subclass_that_overrides_detect_keeps_its_own(clip):
    """The stream splits finding and scoring only for a plain EmotionDetector; a subclass
    that overrides ``detect`` (here: to drop every face) is called as it is."""
    from moodlens import EmotionDetector

    class NoFaces(EmotionDetector):
        def detect(self, image, *, boxes=None, rgb=False):
            return []

    with NoFaces(threads=1) as detector, MoodStream(clip, detector=detector) as stream:
        readings = list(stream)
    assert len(readings) == 60 and not any(r.faces for r in readings)
