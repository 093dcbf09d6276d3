"""spotipy is optional: it loads where used, and its absence says the pip command."""

from __future__ import annotations

from types import ModuleType

from moodlens._errors import require

__all__ = ["require_spotipy"]


def require_spotipy(feature: str = "the Spotify playlist plugin") -> ModuleType:
    """Imports spotipy, or raises MissingDependencyError naming ``pip install 'moodlens[spotify]'``.

    Raises:
        MissingDependencyError: spotipy is not installed.
    """
    return require("spotipy", extra="spotify", feature=feature)
