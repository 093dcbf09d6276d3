"""spotipy is optional: it loads where used, and its absence says the pip command."""

from __future__ import annotations

import importlib
from types import ModuleType

from moodlens import MissingDependencyError

__all__ = ["require_spotipy"]


def require_spotipy(feature: str = "the Spotify playlist plugin") -> ModuleType:
    """Imports spotipy, or raises MissingDependencyError naming ``pip install 'moodlens[spotify]'``.

    Raises:
        MissingDependencyError: spotipy is not installed.
    """
    try:
        return importlib.import_module("spotipy")
    except ImportError as exc:
        raise MissingDependencyError("spotipy", "spotify", feature) from exc
