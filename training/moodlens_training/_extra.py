"""The ``train`` extra, loaded by the command lines: quietly, or with the pip command.

Only the command lines call this (``moodlens-train``, ``moodlens-export``):
importing the library sets no environment variable and touches no file
descriptor.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from moodlens import MissingDependencyError

__all__ = ["TRAIN_EXTRA_MODULES", "require_train_extra"]

TRAIN_EXTRA_MODULES = ("tensorflow", "keras")

# absl's INFO/WARNING line format ("I0000 00:00:1795... port.cc:153] oneDNN ...") and its
# preamble: TensorFlow 2.16+ writes them from C++ while importing, before
# TF_CPP_MIN_LOG_LEVEL applies, so they are filtered from what the import wrote.
_NOISE = re.compile(r"^([IW]\d{4} \d\d:\d\d:\d\d|WARNING: All log messages before absl::)")


def require_train_extra(feature: str, modules: tuple[str, ...] = TRAIN_EXTRA_MODULES) -> None:
    """Imports ``modules`` (TensorFlow's log noise kept off), or says the pip command.

    Sets ``TF_CPP_MIN_LOG_LEVEL=2`` (unless the user set it) before TensorFlow is
    imported, and drops the INFO lines TensorFlow prints while importing; errors
    still show.

    Args:
        feature: what needs them, for the message (``"moodlens-train"``).
        modules: the modules to import, in order.

    Raises:
        MissingDependencyError: one is not installed; the message says
            ``pip install 'moodlens[train]'``.

    Example:
        >>> require_train_extra("moodlens-export", ("tensorflow", "keras", "tf2onnx"))
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _quiet_native_stderr():
        for name in modules:
            try:
                importlib.import_module(name)
            except ImportError as exc:
                raise MissingDependencyError(exc.name or name, "train", feature) from exc


@contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Captures what C++ code writes to file descriptor 2; re-writes all but absl's noise."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (AttributeError, OSError, ValueError):  # no real stderr (embedded, closed)
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [
                line
                for line in captured.read().decode("utf-8", "replace").splitlines()
                if line.strip() and not _NOISE.match(line)
            ]
            if kept:
                print("\n".join(kept), file=sys.stderr)
