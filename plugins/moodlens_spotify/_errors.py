"""Errors of the Spotify plugin, under moodlens's one tree.

MoodlensError
└── PluginError
    └── SpotifyError            anything the Spotify plugin cannot do; the message says what to do
        ├── SpotifyAuthError    no login, an expired login that cannot be refreshed, missing scopes
        └── SpotifyApiError     the Web API failed (status, and whether trying later may help)
            └── RateLimitedError  429: the API asked to wait ``retry_after`` seconds
"""

from __future__ import annotations

from moodlens import PluginError

__all__ = ["RateLimitedError", "SpotifyApiError", "SpotifyAuthError", "SpotifyError"]


class SpotifyError(PluginError):
    """The Spotify plugin cannot do what was asked; the message says what to do."""


class SpotifyAuthError(SpotifyError):
    """Not logged in, or the login expired and cannot be refreshed: run `moodlens spotify login`."""


class SpotifyApiError(SpotifyError):
    """The Web API answered with an error, a malformed body, or not at all.

    Attributes:
        status: the HTTP status, or None when no answer came (network down, timeout).
        transient: True when trying again later may succeed (network, 5xx, 429, bad JSON).
        reason: Spotify's error reason when it gave one (e.g. ``NO_ACTIVE_DEVICE``).
    """

    def __init__(
        self, message: str, *, status: int | None, transient: bool, reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.transient, self.reason = status, transient, reason


class RateLimitedError(SpotifyApiError):
    """429 Too Many Requests; ``retry_after`` is how long Spotify asked to wait, in seconds."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, status=429, transient=True)
        self.retry_after = retry_after
