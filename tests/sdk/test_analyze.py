"""moodlens analyze: clips and photos to a per-face emotion table, local engine and CLI.

The clips are made here with cv2.VideoWriter from the sample face moving over a plain
background; the Ray engine is checked against these in test_analyze_ray.py.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

pd = pytest.importorskip("pandas", reason="moodlens[batch] (pandas) is not installed")
pytest.importorskip("pyarrow", reason="moodlens[batch] (pyarrow) is not installed")

import moodlens  # noqa: E402
from moodlens import OptionsError  # noqa: E402
from moodlens._analyze_cli import main  # noqa: E402
from moodlens._analyze_inputs import AnalyzeOptions, Probe, Source, expand_inputs, plan_tasks  # noqa: E402
from moodlens._analyze_table import COLUMNS, build_source  # noqa: E402
from moodlens._analyze_worker import Worker  # noqa: E402

from ..conftest import hear_ctrl_c  # noqa: E402

CLIP_FRAMES, CLIP_FPS = 24, 10.0
EXPECTED_COLUMNS = [
    "source", "frame", "timestamp", "face_id", "x", "y", "w", "h", "emotion", "confidence",
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "steady_emotion",
]  # fmt: skip


def write_clip(path: Path, face: np.ndarray, *, frames: int = CLIP_FRAMES, step: int = 3) -> Path:
    """A 320x240 clip of ``face`` sliding right by ``step`` pixels a frame."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), CLIP_FPS, (320, 240))
    assert writer.isOpened()
    for i in range(frames):
        frame = np.full((240, 320, 3), 90, np.uint8)
        x = 20 + i * step
        frame[60:180, x : x + 120] = face
        writer.write(frame)
    writer.release()
    return path


def make_media(root: Path, sample_bgr: np.ndarray) -> Path:
    """clips (two, one in a sub-folder), a photo, a photo without a face, a corrupt video,
    a text file and an empty folder."""
    face = cv2.resize(sample_bgr[30:230, 120:320], (120, 120))
    (root / "sub").mkdir(parents=True)
    (root / "empty").mkdir()
    write_clip(root / "clip_a.mp4", face)
    write_clip(root / "sub" / "clip_b.avi", cv2.flip(face, 1), step=2)
    cv2.imwrite(str(root / "photo.jpg"), sample_bgr)
    cv2.imwrite(str(root / "noface.png"), np.full((120, 160, 3), 128, np.uint8))
    (root / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 200)
    (root / "notes.txt").write_text("not media")
    return root


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory, sample_bgr: np.ndarray) -> Path:
    return make_media(tmp_path_factory.mktemp("media"), sample_bgr)


@pytest.fixture(scope="module")
def local_run(media: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("out") / "results.parquet"
    table = moodlens.analyze(media, out=out, workers=2, segment_frames=10)
    return out, table


def by_row(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values(["source", "frame", "face_id"]).reset_index(drop=True)


# -- the table ------------------------------------------------------------------------------
def test_table_has_the_issue_columns_and_one_row_per_face_per_frame(local_run, media):
    out, table = local_run
    assert list(table.columns) == EXPECTED_COLUMNS == list(COLUMNS)
    clip = table[table.source == str(media / "clip_a.mp4")]
    assert clip.frame.tolist() == list(range(CLIP_FRAMES))  # one face in every frame
    assert np.allclose(clip.timestamp, clip.frame / CLIP_FPS)
    scores = clip[[e.value for e in moodlens.Emotion]].to_numpy()
    assert np.allclose(scores.sum(axis=1), 1.0, atol=1e-4)
    assert (clip.emotion == clip[[e.value for e in moodlens.Emotion]].idxmax(axis=1)).all()
    assert np.allclose(clip.confidence, scores.max(axis=1))
    assert clip.steady_emotion.dropna().isin([e.value for e in moodlens.Emotion]).all()
    photo = table[table.source == str(media / "photo.jpg")]
    assert len(photo) == 1 and photo.timestamp.iloc[0] == 0.0 and photo.face_id.iloc[0] == 1
    assert table.dtypes["frame"] == np.int64 and table.dtypes["x"] == np.int64


def test_face_id_is_one_track_across_segment_borders(local_run, media):
    _, table = local_run  # segment_frames=10: each 24-frame clip ran as three segments
    for clip in ("clip_a.mp4", "sub/clip_b.avi"):
        assert table[table.source == str(media / clip)].face_id.unique().tolist() == [1]


def test_parquet_dataset_reads_whole_with_pandas_and_summary_is_beside_it(local_run, media):
    out, table = local_run
    assert out.is_dir() and len(list(out.glob("part-*.parquet"))) == 4  # ok sources only
    pd.testing.assert_frame_equal(by_row(pd.read_parquet(out)), by_row(table))
    summary = pd.read_csv(out.parent / "results.summary.csv", keep_default_na=False)
    summary = summary.set_index("source")
    pd.testing.assert_frame_equal(
        summary.reset_index(), table.attrs["summary"], check_dtype=False, check_exact=False
    )
    clip = summary.loc[str(media / "clip_a.mp4")]
    assert (clip.frames_read, clip.frames_sampled, clip.frames_with_faces) == (24, 24, 24)
    assert clip.fps == CLIP_FPS and clip.duration == pytest.approx(2.4) and clip.status == "ok"
    noface = summary.loc[str(media / "noface.png")]
    assert (noface.status, noface.frames_sampled, noface.frames_with_faces) == ("ok", 1, 0)
    corrupt = summary.loc[str(media / "corrupt.mp4")]
    assert corrupt.status == "failed" and "OpenCV" in corrupt.error
    assert str(media / "notes.txt") not in summary.index  # folders keep media extensions only


def test_segmented_and_whole_video_give_the_same_rows(media):
    options = AnalyzeOptions(every=2)
    source = Source(str(media / "clip_a.mp4"), "video")
    found = Probe(CLIP_FPS, CLIP_FRAMES)
    worker = Worker(options)
    whole = build_source(
        source, found, options, [worker.run(t) for t in plan_tasks(source, found, options, 100)]
    )
    tasks = plan_tasks(source, found, options, 5)
    assert len(tasks) == 5 and tasks[-1].stop is None
    split = build_source(source, found, options, [worker.run(t) for t in reversed(tasks)])
    pd.testing.assert_frame_equal(whole[0], split[0])
    assert whole[0].frame.tolist() == list(range(0, CLIP_FRAMES, 2))
    assert whole[1].to_dict() | {"seconds": 0} == split[1].to_dict() | {"seconds": 0}


@pytest.mark.parametrize(
    ("every", "fps", "video_fps", "expected"),
    [
        (1, None, 10.0, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
        (3, None, 10.0, [0, 3, 6, 9]),
        (1, 5.0, 10.0, [0, 2, 4, 6, 8]),
        (1, 4.0, 10.0, [0, 3, 5, 8]),
        (1, 30.0, 10.0, list(range(10))),
        (1, 2.0, None, list(range(10))),  # rate unknown: every frame
    ],
)
def test_sampling_by_every_or_fps(every, fps, video_fps, expected):
    options = AnalyzeOptions(every=every, fps=fps)
    assert [i for i in range(10) if options.sampled(i, video_fps)] == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"every": 0}, "every must be an integer >= 1"),
        ({"fps": -1.0}, "fps must be a positive"),
        ({"every": 2, "fps": 5.0}, "not both"),
    ],
)
def test_bad_options_are_refused(kwargs, message):
    with pytest.raises(OptionsError, match=message):
        AnalyzeOptions(**kwargs)


@pytest.mark.parametrize(
    ("face_finder", "expected"),
    [(None, {"model": None}), ("haar", {"model": None, "face_finder": "haar"})],
)
def test_face_finder_is_passed_to_the_detector_only_when_given(face_finder, expected):
    assert AnalyzeOptions(face_finder=face_finder).detector_kwargs() == expected


# -- inputs ---------------------------------------------------------------------------------
def test_inputs_expand_folders_recursively_and_globs(media):
    found = {Path(s.path).name: s.kind for s in expand_inputs([media])}
    assert found == {
        "clip_a.mp4": "video",
        "clip_b.avi": "video",
        "corrupt.mp4": "video",
        "noface.png": "photo",
        "photo.jpg": "photo",
    }
    globbed = expand_inputs([str(media / "**" / "*.avi"), str(media / "photo.jpg")])
    assert {Path(s.path).name for s in globbed} == {"clip_b.avi", "photo.jpg"}


@pytest.mark.parametrize("inputs", [["empty"], ["nothing-here-*.mp4"], ["missing.mp4"]])
def test_no_matching_input_is_a_usage_error(media, inputs, capsys):
    with pytest.raises(OptionsError, match="no video or photo matched"):
        expand_inputs([str(media / i) for i in inputs])
    code = main([str(media / i) for i in inputs] + ["--out", str(media.parent / "x.csv")])
    assert code == 2 and "no video or photo matched" in capsys.readouterr().err


# -- the CLI, failures, output --------------------------------------------------------------
def test_cli_names_the_corrupt_input_exits_1_and_writes_csv(media, tmp_path, capsys):
    out = tmp_path / "table.csv"
    code = main([str(media / "clip_a.mp4"), str(media / "corrupt.mp4"), str(media / "photo.jpg"),
                 "--out", str(out), "--every", "4", "--workers", "2"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert f"failed: {media / 'corrupt.mp4'}" in err and "\r" not in err  # no bar when piped
    table = pd.read_csv(out)
    assert list(table.columns) == EXPECTED_COLUMNS
    assert table[table.source.str.endswith("clip_a.mp4")].frame.tolist() == [0, 4, 8, 12, 16, 20]
    parts = pd.read_parquet(tmp_path / "table.csv.parts")
    pd.testing.assert_frame_equal(
        by_row(table)[EXPECTED_COLUMNS[:-1]],
        by_row(parts)[EXPECTED_COLUMNS[:-1]],
        check_exact=False,
    )
    summary = pd.read_csv(tmp_path / "table.summary.csv")
    assert summary.status.tolist() == ["ok", "failed", "ok"]


def test_existing_out_needs_resume_or_overwrite(media, tmp_path, capsys):
    out = tmp_path / "t.parquet"
    args = [str(media / "photo.jpg"), "--out", str(out)]
    assert main(args) == 0
    assert main(args) == 2
    assert "already exists; pass --resume" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    assert main([*args, "--resume", "--every", "2"]) == 2
    assert "was made with other options (every: 1 in the part, 2 now)" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--resume", "--overwrite"])
    assert exit_info.value.code == 2  # argparse: not both


def test_out_may_be_a_pyarrow_filesystem_uri(media, tmp_path):
    table = moodlens.analyze(media / "photo.jpg", out=f"file://{tmp_path}/u.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "u.parquet"), table)
    assert (tmp_path / "u.summary.csv").is_file()


def test_interrupted_run_resumes_with_the_finished_parts(media, tmp_path, local_run):
    out = tmp_path / "r.parquet"
    run = moodlens.analyze_iter(media, out=out, workers=1, segment_frames=10)
    first = next(r for r in run if r.summary.status == "ok")
    run.close()  # as if interrupted after the first finished source
    assert len(list(out.glob("part-*.parquet"))) == 1
    assert not (tmp_path / "r.summary.csv").exists()
    (out / ".3f2a.tmp").write_bytes(b"half a part")  # a write cut short: hidden, ignored
    table = moodlens.analyze(media, out=out, resume=True, workers=2, segment_frames=10)
    pd.testing.assert_frame_equal(by_row(table), by_row(local_run[1]))
    resumed = [r for r in moodlens.analyze_iter(media, out=out, resume=True) if r.resumed]
    assert first.source in {r.source for r in resumed}
    assert len(resumed) == 4  # every ok source; the corrupt one is tried again
    pd.testing.assert_frame_equal(by_row(pd.read_parquet(out)), by_row(local_run[1]))


def stop_with_a_signal_and_resume(
    tmp_path: Path, sample_bgr: np.ndarray, signum: int, *engine: str
) -> str:
    """Runs ``moodlens analyze`` on four clips, sends ``signum`` once the first part is
    written, checks the stop (parts kept, no summary) and that ``--resume`` finishes the
    run without redoing those parts; returns the stopped run's stderr."""
    face = cv2.resize(sample_bgr[30:230, 120:320], (120, 120))
    clips = tmp_path / "clips"
    clips.mkdir()
    for i in range(4):
        write_clip(clips / f"clip_{i}.mp4", face, frames=60, step=1)
    out = tmp_path / "t.parquet"
    args = [str(clips), "--out", str(out), "--workers", "2", "--segment-frames", "10", *engine]
    run = subprocess.Popen(
        [sys.executable, "-m", "moodlens", "analyze", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=hear_ctrl_c,
    )
    try:
        deadline = time.monotonic() + 90
        while not list(out.glob("part-*.parquet")) and run.poll() is None:
            assert time.monotonic() < deadline, "no part written in 90 s"
            time.sleep(0.02)
        kept = {p.name: p.read_bytes() for p in out.glob("part-*.parquet")}
        run.send_signal(signum)
        _, err = run.communicate(timeout=30)
    finally:
        run.kill()
    assert run.returncode == {signal.SIGTERM: 143, signal.SIGINT: 130}[signum], err
    assert "--resume" in err and "Traceback" not in err
    parts = {p.name: p.read_bytes() for p in out.glob("part-*.parquet")}
    assert 1 <= len(kept) <= len(parts) < 4 and all(parts[name] == kept[name] for name in kept)
    assert not (tmp_path / "t.summary.csv").exists()  # written once every source is done
    assert main([*args, "--resume"]) == 0
    assert len(list(out.glob("part-*.parquet"))) == 4
    assert all(out.joinpath(name).read_bytes() == parts[name] for name in parts)  # not redone
    table = pd.read_parquet(out)
    assert table.groupby("source").frame.apply(list).tolist() == [list(range(60))] * 4
    assert (tmp_path / "t.summary.csv").is_file()
    return err


@pytest.mark.parametrize(
    ("signum", "word"),
    [(signal.SIGTERM, "terminated"), (signal.SIGINT, "interrupted")],
    ids=["SIGTERM", "Ctrl-C"],
)
def test_cli_stopped_by_a_signal_keeps_the_finished_parts_and_resumes(
    signum, word, tmp_path, sample_bgr
):
    # SIGTERM (systemd, docker stop) stops like Ctrl-C: the workers stopped at once, the
    # parts written so far kept, --resume named, no traceback; exit 143 (Ctrl-C 130).
    err = stop_with_a_signal_and_resume(tmp_path, sample_bgr, signum)
    assert f"moodlens analyze: {word}; the finished sources are kept in" in err


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"resume": True}, "need out"),
        ({"engine": "spark"}, "engine must be one of local, ray"),
        ({"workers": 0}, "workers must be a positive integer"),
        ({"ray_address": "auto"}, "ray_address needs engine='ray'"),
        ({"out": "table.xlsx"}, r"must end in \.parquet"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(media, kwargs, message):
    with pytest.raises(OptionsError, match=message):
        moodlens.analyze(media / "photo.jpg", **kwargs)


def test_missing_extra_says_the_pip_command(media, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(moodlens.MissingDependencyError, match=r"pip install 'moodlens\[ray\]'"):
        moodlens.analyze(media / "photo.jpg", engine="ray")


def test_progress_bar_when_asked(media, capsys):
    moodlens.analyze(media / "clip_a.mp4", every=6, workers=1, progress=True)
    err = capsys.readouterr().err
    assert "analyze" in err and "frame" in err and "sources 1/1" in err


def test_moodlens_analyze_is_a_subcommand_of_the_moodlens_command(media, tmp_path):
    # Registered under the entry-point group moodlens.cli; exit codes pass through.
    base = [sys.executable, "-m", "moodlens", "analyze"]
    run = subprocess.run(
        [*base, str(media / "empty"), "--out", str(tmp_path / "t.csv")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and "no video or photo matched" in run.stderr
    run = subprocess.run(
        [*base, str(media / "noface.png"), "--out", str(tmp_path / "t.csv"), "--workers", "1"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "1 source (0 failed), 0 face rows" in run.stderr
    assert pd.read_csv(tmp_path / "t.csv").columns.tolist() == EXPECTED_COLUMNS


def test_import_moodlens_loads_no_pandas_and_analyze_is_lazy():
    code = (
        "import sys, moodlens; print(sorted(m for m in ('pandas', 'pyarrow', 'ray', 'tqdm') "
        "if m in sys.modules)); moodlens.analyze; print('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "False"]


def test_a_sigterm_a_library_turns_into_a_plain_keyboardinterrupt_still_exits_143(
    monkeypatch, tmp_path, capsys
):
    """Ray re-raises the exception of a signal that lands inside ``ray.wait`` as a plain
    KeyboardInterrupt (its check_status); the command must still say SIGTERM (143)."""
    import os

    from moodlens import _analyze_cli

    def like_ray(args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)  # the handler raises in here
        except KeyboardInterrupt:
            raise KeyboardInterrupt() from None  # what Ray's check_status does
        raise AssertionError("the SIGTERM never arrived")

    monkeypatch.setattr(_analyze_cli, "_analyze", like_ray)
    before = signal.getsignal(signal.SIGTERM)
    assert main([str(tmp_path), "--out", str(tmp_path / "t.parquet")]) == 143
    assert "moodlens analyze: terminated" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is before  # the handler was put back
