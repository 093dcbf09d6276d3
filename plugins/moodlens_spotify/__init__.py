"""moodlens_spotify: the steady mood becomes a private playlist in the user's Spotify account.

Enable it as the plugin ``spotify-playlist`` (``moodlens watch --plugin
spotify-playlist``) after ``moodlens spotify login``, or pass a configured
instance to a stream. Needs ``pip install 'moodlens[spotify]'`` except in
dry-run without a client.

Example:
    >>> from moodlens_spotify import SpotifyPlaylistPlugin
    >>> plugin = SpotifyPlaylistPlugin(dry_run=True, strategy="lift")
"""

from __future__ import annotations

from ._config import DEFAULT_MOODS, MoodTarget, SpotifySettings, Strategy
from ._errors import RateLimitedError, SpotifyApiError, SpotifyAuthError, SpotifyError
from ._planner import PlaylistPlan, Stage, Track, mood_path
from ._plugin import SpotifyPlaylistPlugin

__all__ = [
    "DEFAULT_MOODS",
    "MoodTarget",
    "PlaylistPlan",
    "RateLimitedError",
    "SpotifyApiError",
    "SpotifyAuthError",
    "SpotifyError",
    "SpotifyPlaylistPlugin",
    "SpotifySettings",
    "Stage",
    "Strategy",
    "Track",
    "mood_path",
]
