"""Batch analysis: folders of videos and photos to a per-face emotion table, in parallel.

``analyze`` returns the whole table as a pandas DataFrame; ``analyze_iter`` yields one
AnalyzedSource per source as it finishes, for inputs larger than memory. With ``out``
both write a Parquet dataset (or a CSV) and a per-source summary; see
``_analyze_writer`` for the layout, ``_analyze_engines`` for the engines.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._analyze_engines import ENGINES, default_workers, run_local, run_ray
from ._analyze_inputs import (
    AnalyzeOptions,
    Probe,
    Source,
    Task,
    expand_inputs,
    plan_tasks,
    probe,
    segment_length,
)
from ._analyze_table import (
    SourceSummary,
    build_source,
    empty_table,
    failed_summary,
    summary_table,
)
from ._analyze_worker import TaskResult
from ._analyze_writer import Output
from ._detector import EmotionDetector
from ._errors import OptionsError, require

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

InputLike = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]


@dataclass(frozen=True, slots=True)
class AnalyzedSource:
    """One finished source: its rows and its summary line.

    Attributes:
        source: the file.
        table: its rows (the columns of ``analyze``'s table); empty when it failed.
        summary: frames read, sampled, with faces, fps, duration, status and error.
        resumed: read back from an earlier run's part (``resume=True``).
    """

    source: str
    table: pd.DataFrame
    summary: SourceSummary
    resumed: bool = False


def analyze_iter(
    inputs: InputLike,
    *,
    out: str | os.PathLike[str] | None = None,
    every: int = 1,
    fps: float | None = None,
    workers: int | None = None,
    engine: str = "local",
    ray_address: str | None = None,
    model: str | os.PathLike[str] | None = None,
    face_finder: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool | None = None,
    segment_frames: int | None = None,
) -> Iterator[AnalyzedSource]:
    """Analyses videos and photos; yields each source's rows and summary as it finishes.

    Takes the same arguments as ``analyze``. The local engine starts its workers with
    ``multiprocessing``'s spawn method, so a script that calls this needs the usual
    ``if __name__ == "__main__":`` guard (notebooks and the CLI need nothing).

    The summary beside ``out`` (and the merged CSV) is written once the last source is
    yielded; stopping early keeps the parts written so far, for ``resume=True``.

    Raises:
        OptionsError: an option out of range, no input matched, or ``out`` exists
            without ``resume``/``overwrite`` (or was made with other options).
        MissingDependencyError: pandas/pyarrow (``moodlens[batch]``) or Ray
            (``moodlens[ray]``) is not installed.
        ModelError: the model cannot be loaded.
    """
    require("pandas", extra="batch", feature="moodlens analyze")
    require("pyarrow", extra="batch", feature="moodlens analyze")
    if engine not in ENGINES:
        raise OptionsError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}.")
    if workers is not None and (isinstance(workers, bool) or workers < 1):
        raise OptionsError(f"workers must be a positive integer, got {workers!r}.")
    if segment_frames is not None and segment_frames < 1:
        raise OptionsError(f"segment_frames must be >= 1, got {segment_frames!r}.")
    if out is None and (resume or overwrite):
        raise OptionsError("resume and overwrite need out (the table to resume or replace).")
    if engine == "local" and ray_address is not None:
        raise OptionsError("ray_address needs engine='ray'.")
    if engine == "ray":
        require("ray", extra="ray", feature="the ray engine of moodlens analyze")
    options = AnalyzeOptions(
        every=every,
        fps=fps,
        model=None if model is None else os.fspath(model),
        face_finder=face_finder,
    )
    sources = expand_inputs(inputs)
    output = Output(out, resume=resume, overwrite=overwrite) if out is not None else None
    # Fail fast on a bad model or face finder, before any process or actor starts.
    EmotionDetector(**options.detector_kwargs()).close()
    done = output.prepare(options) if output is not None else {}
    return _run(
        sources, done, options, output, engine, workers, ray_address, progress, segment_frames
    )


def _run(
    sources: list[Source],
    done: dict[str, SourceSummary],
    options: AnalyzeOptions,
    output: Output | None,
    engine: str,
    workers: int | None,
    ray_address: str | None,
    progress: bool | None,
    segment_frames: int | None,
) -> Iterator[AnalyzedSource]:
    summaries: dict[str, SourceSummary] = {}
    for source in sources:
        if source.path in done and output is not None:
            summaries[source.path] = done[source.path]
            yield AnalyzedSource(
                source.path, output.read_part(source.path), done[source.path], True
            )
    todo = [s for s in sources if s.path not in summaries]
    probes = {s.path: probe(s) for s in todo}
    for source in todo:
        if probes[source.path].error:
            summary = failed_summary(source, str(probes[source.path].error))
            summaries[source.path] = summary
            _log_failure(summary)
            yield AnalyzedSource(source.path, empty_table(), summary)
    todo = [s for s in todo if s.path not in summaries]
    n_workers = workers or default_workers()
    length = segment_frames or segment_length([probes[s.path].frame_count for s in todo], n_workers)
    tasks: list[Task] = []
    for source in todo:
        tasks.extend(plan_tasks(source, probes[source.path], options, length))
    if engine == "ray":
        results = run_ray(tasks, options, workers, ray_address)
    else:
        results = run_local(tasks, options, n_workers)
    bar = _progress_bar(progress, todo, probes, len(sources))
    by_path = {s.path: s for s in todo}
    pending: dict[str, list[TaskResult]] = {}
    try:
        for result in results:
            path = result.task.source
            pending.setdefault(path, []).append(result)
            if bar is not None:
                bar.update(result.frames_read)
            if len(pending[path]) < result.task.segments:
                continue
            table, summary = build_source(by_path[path], probes[path], options, pending.pop(path))
            if output is not None and summary.status == "ok":
                output.write_part(table, summary, options)
            summaries[path] = summary
            if summary.status != "ok":
                _log_failure(summary)
            if bar is not None:
                bar.set_postfix_str(f"sources {len(summaries)}/{len(sources)}", refresh=False)
            yield AnalyzedSource(path, table, summary)
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()
        if bar is not None:
            bar.close()
    if output is not None:
        output.finish([summaries[s.path] for s in sources])


def _log_failure(summary: SourceSummary) -> None:
    logger.info("%s failed: %s", summary.source, summary.error)


def _progress_bar(
    progress: bool | None, todo: list[Source], probes: dict[str, Probe], n_sources: int
) -> Any:
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        logger.info("tqdm is not installed (pip install 'moodlens[batch]'); no progress bar")
        return None
    total = sum(probes[s.path].frame_count or 0 for s in todo)
    return tqdm(
        total=total or None,
        unit="frame",
        desc="analyze",
        postfix=f"sources {n_sources - len(todo)}/{n_sources}",
        file=sys.stderr,
    )


def analyze(
    inputs: InputLike,
    *,
    out: str | os.PathLike[str] | None = None,
    every: int = 1,
    fps: float | None = None,
    workers: int | None = None,
    engine: str = "local",
    ray_address: str | None = None,
    model: str | os.PathLike[str] | None = None,
    face_finder: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool | None = None,
    segment_frames: int | None = None,
) -> pd.DataFrame:
    """Analyses videos and photos: one row per face per sampled frame.

    Columns: ``source``, ``frame``, ``timestamp`` (seconds, frame / the video's fps; 0
    for photos), ``face_id`` (tracked within a source across the sampled frames and
    across segments), ``x``, ``y``, ``w``, ``h``, ``emotion`` and ``confidence`` (this
    frame's raw scores), one column per emotion (``angry`` ... ``neutral``) and
    ``steady_emotion`` (MoodStream's smoothing; empty until a mood settles). The
    per-source summary is in ``table.attrs["summary"]`` (a DataFrame).

    The local engine spawns its worker processes: call it under
    ``if __name__ == "__main__":`` in a script (notebooks need nothing).

    Args:
        inputs: files, folders (searched recursively for video and image extensions)
            and glob patterns; one or a list.
        out: also write the table: ``*.parquet`` (a dataset folder, one part per
            source) or ``*.csv``, with ``*.summary.csv`` beside it; local path or a
            pyarrow filesystem URI.
        every: analyse every N-th video frame.
        fps: analyse this many frames per second of video instead of ``every``.
        workers: processes (local) or actors (ray); default one per core (per cluster
            CPU on Ray).
        engine: "local" (a process pool) or "ray".
        ray_address: the Ray cluster to use; None starts a local Ray instance.
        model: an emotion model ``.onnx`` file; None for the bundled one.
        face_finder: passed to ``EmotionDetector(face_finder=...)`` when given.
        resume: skip the sources an earlier run with the same ``out`` finished.
        overwrite: replace an existing ``out``.
        progress: show a progress bar; None shows one when stderr is a terminal.
        segment_frames: frames per video segment (default: enough segments for every
            worker, at least 300 frames each).

    Returns:
        The table; a failed source has no rows, and its reason is in the summary.

    Raises:
        OptionsError: an option out of range, no input matched, or ``out`` exists
            without ``resume``/``overwrite`` (or was made with other options).
        MissingDependencyError: pandas/pyarrow (``moodlens[batch]``) or Ray
            (``moodlens[ray]``) is not installed.
        ModelError: the model cannot be loaded.

    Example:
        >>> import moodlens
        >>> table = moodlens.analyze("clips/", fps=2, out="results.parquet")
        >>> table.groupby("source").emotion.value_counts()
    """
    import pandas as pd

    results = list(
        analyze_iter(
            inputs,
            out=out,
            every=every,
            fps=fps,
            workers=workers,
            engine=engine,
            ray_address=ray_address,
            model=model,
            face_finder=face_finder,
            resume=resume,
            overwrite=overwrite,
            progress=progress,
            segment_frames=segment_frames,
        )
    )
    results.sort(key=lambda r: r.source)
    tables = [r.table for r in results if len(r.table)]
    table = pd.concat(tables, ignore_index=True) if tables else empty_table()
    table.attrs["summary"] = summary_table([r.summary for r in results])
    return table
