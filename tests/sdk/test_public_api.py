"""The public surface: __all__ is complete, and importing moodlens stays light."""

from __future__ import annotations

import subprocess
import sys

import moodlens


def test_all_names_exist_and_public_objects_are_listed():
    for name in moodlens.__all__:
        assert hasattr(moodlens, name), name
    public = {n for n in dir(moodlens) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(moodlens, n)).__name__ == "module"}
    assert public - modules - {"annotations"} <= set(moodlens.__all__)


def test_import_does_not_load_heavy_dependencies():
    code = (
        "import sys, moodlens; heavy = ['tensorflow', 'keras', 'tf2onnx', 'onnx', 'spotipy', "
        "'sqlalchemy', 'matplotlib', 'torch']; print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_import_configures_no_logging():
    code = "import logging, moodlens; print(len(logging.getLogger().handlers))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"
