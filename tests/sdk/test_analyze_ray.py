"""moodlens analyze on Ray: the same table as the local engine, on a local Ray instance.

One Ray instance (num_cpus=2) is started for the module; the engine uses it as it
would a cluster's (``ray.is_initialized()``), and the CLI path starts and stops its own.
"""

from __future__ import annotations

import signal
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas", reason="moodlens[batch] (pandas) is not installed")
pytest.importorskip("pyarrow", reason="moodlens[batch] (pyarrow) is not installed")
ray = pytest.importorskip(
    "ray", reason="moodlens[ray] is not installed: pip install 'moodlens[ray]'"
)

import moodlens  # noqa: E402

from .test_analyze import (  # noqa: E402
    EXPECTED_COLUMNS,
    by_row,
    make_media,
    stop_with_a_signal_and_resume,
)

SCORES = [e.value for e in moodlens.Emotion]


@pytest.fixture(scope="module")
def ray_instance():
    if ray.is_initialized():
        yield ray
        return
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory, sample_bgr: np.ndarray) -> Path:
    return make_media(tmp_path_factory.mktemp("media"), sample_bgr)


@pytest.fixture(scope="module")
def both(media: Path, tmp_path_factory: pytest.TempPathFactory, ray_instance):
    out = tmp_path_factory.mktemp("out")
    local = moodlens.analyze(media, out=out / "local.parquet", workers=2, segment_frames=10)
    on_ray = moodlens.analyze(
        media, out=out / "ray.parquet", engine="ray", workers=2, segment_frames=10
    )
    return out, local, on_ray


def test_ray_and_local_give_the_same_rows(both):
    _, local, on_ray = both
    local, on_ray = by_row(local), by_row(on_ray)
    assert list(on_ray.columns) == EXPECTED_COLUMNS and len(on_ray) == len(local) > 0
    exact = [c for c in EXPECTED_COLUMNS if c not in SCORES + ["confidence"]]
    pd.testing.assert_frame_equal(on_ray[exact], local[exact])
    assert (
        np.abs(on_ray[SCORES + ["confidence"]] - local[SCORES + ["confidence"]]).max().max() < 1e-4
    )


def test_ray_reports_the_corrupt_input_and_writes_the_same_summary(both, media):
    out, local, on_ray = both
    columns = ["source", "status", "error", "frames_read", "frames_sampled", "frames_with_faces"]
    pd.testing.assert_frame_equal(on_ray.attrs["summary"][columns], local.attrs["summary"][columns])
    summary = pd.read_csv(out / "ray.summary.csv", keep_default_na=False).set_index("source")
    assert summary.loc[str(media / "corrupt.mp4"), "status"] == "failed"
    pd.testing.assert_frame_equal(by_row(pd.read_parquet(out / "ray.parquet")), by_row(on_ray))


def test_ray_engine_resumes_a_local_run(both, media):
    out, local, _ = both
    # The engine is not an option of the table: a local run's parts resume on Ray.
    results = list(
        moodlens.analyze_iter(media, out=out / "local.parquet", resume=True, engine="ray")
    )
    assert sum(r.resumed for r in results) == 4
    assert [r.summary.status for r in results if not r.resumed] == ["failed"]


def test_sigterm_stops_the_ray_engine_like_ctrl_c(tmp_path, sample_bgr):
    # ray.init puts its own SIGTERM handler (sys.exit) in place of the command line's.
    err = stop_with_a_signal_and_resume(tmp_path, sample_bgr, signal.SIGTERM, "--engine", "ray")
    assert "moodlens analyze: terminated; the finished sources are kept in" in err
