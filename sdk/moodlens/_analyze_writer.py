"""Batch analysis, output: one Parquet part per source, written atomically; resume; CSV merge.

Layout for ``--out results.parquet`` (a Parquet dataset folder)::

    results.parquet/part-<id>.parquet     one per finished source (pandas.read_parquet reads all)
    results.summary.csv                   the per-source summary, beside the table

and for ``--out results.csv``::

    results.csv.parts/part-<id>.parquet   the same parts, kept for --resume
    results.csv                           merged from the parts at the end
    results.summary.csv

A part is written under a hidden temporary name (pyarrow and pandas skip names that
start with "."), then renamed: an interrupted run leaves whole parts only. Each part
carries, in its Parquet metadata, the options that made it and its source's summary;
``--resume`` skips the sources whose part exists and refuses options that differ.

OUT may be a local path or a pyarrow filesystem URI (``s3://bucket/results.parquet``);
only the driver writes it.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import uuid
from typing import TYPE_CHECKING, Any

from ._analyze_inputs import AnalyzeOptions, options_difference
from ._analyze_table import SourceSummary, arrow_schema, summary_table
from ._errors import OptionsError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow.fs as pafs

logger = logging.getLogger(__name__)

_META_KEY = b"moodlens.analyze"


def part_name(source: str) -> str:
    """The part file of a source: stable across runs, so --resume finds it."""
    digest = hashlib.sha1(os.path.abspath(source).encode()).hexdigest()[:16]
    return f"part-{digest}.parquet"


class Output:
    """Where a run writes its table, parts and summary.

    Args:
        out: ``*.parquet`` (a dataset folder) or ``*.csv``; a local path or a pyarrow URI.
        resume: keep the parts of an earlier run and skip their sources.
        overwrite: delete an earlier run's output first.

    Raises:
        OptionsError: another suffix, both resume and overwrite, or OUT exists without
            either.
    """

    def __init__(self, out: str | os.PathLike[str], *, resume: bool, overwrite: bool) -> None:
        import pyarrow.fs as pafs

        text = os.fspath(out)
        lower = text.lower().rstrip("/")
        if lower.endswith(".parquet"):
            self.format = "parquet"
        elif lower.endswith(".csv"):
            self.format = "csv"
        else:
            raise OptionsError(f"--out {text!r} must end in .parquet (a dataset folder) or .csv.")
        if resume and overwrite:
            raise OptionsError("give --resume or --overwrite, not both.")
        self.fs: pafs.FileSystem
        if "://" in text:
            self.fs, path = pafs.FileSystem.from_uri(text)
        else:
            self.fs, path = pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(text))
        self.uri = text
        self.path = path.rstrip("/")
        stem = self.path.rsplit(".", 1)[0]
        self.summary_path = stem + ".summary.csv"
        self.parts_dir = self.path if self.format == "parquet" else self.path + ".parts"
        self.resume, self.overwrite = resume, overwrite

    def _exists(self, path: str) -> bool:
        import pyarrow.fs as pafs

        return bool(self.fs.get_file_info(path).type != pafs.FileType.NotFound)

    def _delete(self, path: str) -> None:
        import pyarrow.fs as pafs

        kind = self.fs.get_file_info(path).type
        if kind == pafs.FileType.Directory:
            self.fs.delete_dir(path)
        elif kind != pafs.FileType.NotFound:
            self.fs.delete_file(path)

    def prepare(self, options: AnalyzeOptions) -> dict[str, SourceSummary]:
        """Checks OUT against --resume/--overwrite; returns the summaries of finished parts.

        Raises:
            OptionsError: OUT exists without --resume or --overwrite, or its parts were
                made with other options.
        """
        paths = (self.path, self.parts_dir, self.summary_path)
        existing = [p for p in dict.fromkeys(paths) if self._exists(p)]
        if existing and not (self.resume or self.overwrite):
            raise OptionsError(
                f"{existing[0]} already exists; pass --resume to finish that run (its "
                "finished sources are skipped) or --overwrite to replace it."
            )
        if self.overwrite:
            for path in existing:
                self._delete(path)
        self.fs.create_dir(self.parts_dir, recursive=True)
        return self._finished_parts(options) if self.resume else {}

    def _finished_parts(self, options: AnalyzeOptions) -> dict[str, SourceSummary]:
        import pyarrow.fs as pafs
        import pyarrow.parquet as pq

        done: dict[str, SourceSummary] = {}
        current = options.record()
        selector = pafs.FileSelector(self.parts_dir, allow_not_found=True)
        for info in self.fs.get_file_info(selector):
            if not (info.base_name.startswith("part-") and info.base_name.endswith(".parquet")):
                continue
            meta = self._part_meta(pq, info.path)
            differences = options_difference(meta["options"], current)
            if differences:
                raise OptionsError(
                    f"cannot resume: {info.path} was made with other options "
                    f"({'; '.join(differences)}). Run again with the same options, or pass "
                    "--overwrite to start over."
                )
            summary = SourceSummary(**meta["summary"])
            done[summary.source] = summary
        return done

    def _part_meta(self, pq: Any, path: str) -> dict[str, Any]:
        with self.fs.open_input_file(path) as f:
            metadata = pq.read_schema(f).metadata or {}
        try:
            return dict(json.loads(metadata[_META_KEY]))
        except (KeyError, ValueError) as exc:
            raise OptionsError(
                f"cannot resume: {path} is not a moodlens analyze part ({exc}); remove it or "
                "pass --overwrite."
            ) from None

    def write_part(
        self, table: pd.DataFrame, summary: SourceSummary, options: AnalyzeOptions
    ) -> None:
        """Writes a source's part atomically (hidden temporary file, then rename)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        meta = json.dumps({"options": options.record(), "summary": summary.to_dict()})
        schema = arrow_schema().with_metadata({_META_KEY: meta.encode()})
        arrow = pa.Table.from_pandas(table, schema=schema, preserve_index=False)
        final = f"{self.parts_dir}/{part_name(summary.source)}"
        temp = f"{self.parts_dir}/.{uuid.uuid4().hex}.tmp"
        with self.fs.open_output_stream(temp) as f:
            pq.write_table(arrow, f)
        self.fs.move(temp, final)

    def read_part(self, source: str) -> pd.DataFrame:
        """The table of a finished source, from its part."""
        import pyarrow.parquet as pq

        with self.fs.open_input_file(f"{self.parts_dir}/{part_name(source)}") as f:
            return pq.read_table(f).to_pandas()

    def _write_atomic(self, path: str, data: bytes) -> None:
        temp = f"{path.rsplit('/', 1)[0]}/.{uuid.uuid4().hex}.tmp"
        with self.fs.open_output_stream(temp) as f:
            f.write(data)
        self.fs.move(temp, path)

    def finish(self, summaries: list[SourceSummary]) -> None:
        """Writes the summary beside the table and, for CSV, merges the parts into OUT."""
        buffer = io.StringIO()
        summary_table(summaries).to_csv(buffer, index=False)
        self._write_atomic(self.summary_path, buffer.getvalue().encode())
        if self.format == "csv":
            self._merge_csv()

    def _merge_csv(self) -> None:
        import pyarrow.csv as pacsv
        import pyarrow.fs as pafs
        import pyarrow.parquet as pq

        selector = pafs.FileSelector(self.parts_dir)
        names = [
            i.path
            for i in self.fs.get_file_info(selector)
            if i.base_name.startswith("part-") and i.base_name.endswith(".parquet")
        ]
        # Sources in name order, rows in the order the parts hold them (frame, largest face).
        parts = sorted(names, key=lambda p: self._part_meta(pq, p)["summary"]["source"])
        schema = arrow_schema()
        temp = f"{self.path.rsplit('/', 1)[0]}/.{uuid.uuid4().hex}.tmp"
        # Part by part: the merged table never has to fit in memory.
        with self.fs.open_output_stream(temp) as f, pacsv.CSVWriter(f, schema) as writer:
            for path in parts:
                with self.fs.open_input_file(path) as part:
                    table = pq.read_table(part).replace_schema_metadata(None)
                writer.write_table(table.cast(schema))
        self.fs.move(temp, self.path)
