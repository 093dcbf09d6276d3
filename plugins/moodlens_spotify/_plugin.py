"""SpotifyPlaylistPlugin: the steady scene mood becomes one private playlist."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from moodlens import Emotion, MoodChange, MoodReading, StreamInfo, StreamSummary, hookimpl

from ._config import SpotifySettings
from ._deps import require_spotipy
from ._errors import RateLimitedError, SpotifyApiError, SpotifyAuthError, SpotifyError
from ._planner import Planner, PlaylistPlan

__all__ = ["SpotifyPlaylistPlugin"]

logger = logging.getLogger(__name__)

STATE_FILE = "playlist.json"
MAX_DEFER = 900.0  # longest pause after repeated failures (a 429's Retry-After may be longer)
_KEEP_PLANS = 20


class SpotifyPlaylistPlugin:
    """Turns steady scene-mood changes into one private Spotify playlist.

    Only the scene mood counts (``MoodChange.face_id is None``); a face leaving
    keeps the playlist as it is. The playlist is rebuilt at most once per
    ``interval`` seconds of the stream's clock; a change that comes sooner waits,
    and the newest waiting mood wins. Failures never raise into the stream:
    they are logged, and the waiting mood is tried again later (after the 429's
    Retry-After, or a growing pause), never by sleeping in the hook.

    Args:
        client: a configured ``spotipy.Spotify`` (its ``prefix`` says where the API
            is); None to build one from the cached login (``moodlens spotify login``).
        dry_run: build the playlist and log it, write nothing. Without a client it
            needs no account: it logs the searches it would run.
        settings: a SpotifySettings; or give its fields as keyword arguments (the
            config file's ``[plugins.spotify-playlist]`` table arrives that way).
        clock: monotonic seconds, for deferring (tests pass a fake).
        sleep: how the bounded in-call retries wait (tests pass a recorder).
        **options: SpotifySettings fields.

    Raises:
        SpotifyError: unknown or invalid settings.
        SpotifyAuthError: not dry-run, no client, and no cached login or client ID.
        MissingDependencyError: spotipy is needed and not installed.

    Example:
        >>> plugin = SpotifyPlaylistPlugin(dry_run=True, strategy="lift", target="happy")
        >>> with MoodStream("clip.mp4", plugins=[plugin]) as stream:
        ...     for reading in stream:
        ...         pass
        >>> print(plugin.plans[-1].describe())
    """

    def __init__(
        self,
        *,
        client: Any = None,
        dry_run: bool = False,
        settings: SpotifySettings | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        **options: Any,
    ) -> None:
        if settings is not None and options:
            raise SpotifyError(
                f"give either settings= or keyword settings, not both (got {sorted(options)})"
            )
        self.settings = settings or SpotifySettings.from_mapping(options)
        self.dry_run = bool(dry_run)
        self._clock = clock
        self._owned_client = False
        api = None
        if client is None and not self.dry_run:
            require_spotipy()
            from ._auth import make_client, token_path

            if not token_path(self.settings).is_file():
                raise SpotifyAuthError(
                    f"not logged in to Spotify (no token in {token_path(self.settings)}); run "
                    "`moodlens spotify login`, or use dry_run=True to try it without an account."
                )
            client = make_client(self.settings)
            self._owned_client = True
        if client is not None:
            require_spotipy()
            from ._api import WebApi

            api = WebApi(
                client,
                max_attempts=self.settings.max_attempts,
                max_wait=self.settings.max_wait,
                sleep=sleep,
            )
        self.client = client
        self._api = api
        self._planner = Planner(self.settings, api)
        self._lock = threading.Lock()
        self._pending: MoodChange | None = None
        self._applied_mood: Emotion | None = None
        self._applied_at: float | None = None
        self._now: float | None = None
        self._not_before = float("-inf")
        self._failures = 0
        self._product: str | None = None
        self._playlist_id: str | None = None
        self._plans: list[PlaylistPlan] = []

    # -- what it has done ---------------------------------------------------------------------
    @property
    def plans(self) -> tuple[PlaylistPlan, ...]:
        """The playlists built (or, in dry-run, that would have been), oldest first (last 20)."""
        return tuple(self._plans)

    @property
    def pending(self) -> MoodChange | None:
        """The scene-mood change waiting for the interval or for Spotify, if any."""
        return self._pending

    @property
    def playlist_id(self) -> str | None:
        """The managed playlist's ID once known (never in dry-run)."""
        return self._playlist_id

    # -- hooks --------------------------------------------------------------------------------
    @hookimpl
    def moodlens_stream_started(self, info: StreamInfo) -> None:
        """A new stream: read the user's artists afresh on the next plan."""
        with self._lock:
            self._planner.forget()
            self._now = None

    @hookimpl
    def moodlens_reading(self, reading: MoodReading) -> None:
        """Each frame advances the clock; waiting work runs once it is due."""
        with self._lock:
            self._now = reading.timestamp
            self._pump(stopping=False)

    @hookimpl
    def moodlens_mood_changed(self, change: MoodChange) -> None:
        """A scene-mood change becomes the waiting mood; it is applied when due."""
        if change.face_id is not None:
            return
        with self._lock:
            self._now = change.at
            if change.current is None:
                logger.debug("scene mood gone (no face); the playlist stays as it is")
                return
            if self._pending is not None:
                logger.info(
                    "scene mood %s replaces %s, which was still waiting",
                    change.current,
                    self._pending.current,
                )
            self._pending = change
            self._pump(stopping=False)

    @hookimpl
    def moodlens_stream_stopped(self, summary: StreamSummary) -> None:
        """Last chance for a waiting mood; what cannot be applied is logged with the reason."""
        with self._lock:
            self._pump(stopping=True)
            if self._pending is not None:
                logger.warning(
                    "stream stopped with scene mood %s not yet in the playlist: %s",
                    self._pending.current,
                    self._waiting_reason(),
                )

    def close(self) -> None:
        """Releases the HTTP session of a client the plugin built; safe to call twice."""
        if self._owned_client and self.client is not None:
            session = getattr(self.client, "_session", None)
            if session is not None and hasattr(session, "close"):
                session.close()
        self._owned_client = False

    def _apply_now(self, mood: Emotion) -> None:
        """Builds (and unless dry-run, writes) the playlist for ``mood`` now, as the CLI does."""
        with self._lock:
            self._pending = MoodChange(None, None, mood, 0.0, datetime.now(timezone.utc), 1.0)
            self._apply(self._pending)

    # -- the work -----------------------------------------------------------------------------
    def _waiting_reason(self) -> str:
        wait = self._not_before - self._clock()
        if wait > 0:
            return f"Spotify failed or asked to wait; next try was due in {wait:.0f} s"
        return (
            f"the interval of {self.settings.interval:.0f} s since the last update had not passed"
        )

    def _pump(self, *, stopping: bool) -> None:
        change = self._pending
        if change is None:
            return
        if change.current == self._applied_mood:
            logger.info("scene mood is %s again; the playlist already fits it", change.current)
            self._pending = None
            return
        if self._clock() < self._not_before:
            return
        if self._applied_at is not None and self._now is not None:
            early = self._now - self._applied_at < self.settings.interval
            if early and not (stopping and self.settings.apply_on_stop):
                return
        self._apply(change)

    def _apply(self, change: MoodChange) -> None:
        mood = change.current
        assert mood is not None  # checked when it became pending
        try:
            plan = self._planner.plan(mood)
            if self.dry_run:
                logger.info("dry run, nothing written: %s", plan.describe())
            elif not plan.tracks:
                logger.warning("no tracks found for mood %s; the playlist is left as it is", mood)
            else:
                self._write(plan)
        except RateLimitedError as exc:
            self._defer(exc, exc.retry_after)
            return
        except (SpotifyApiError, SpotifyAuthError) as exc:
            self._failures += 1
            self._defer(exc, min(MAX_DEFER, 5.0 * 2 ** (self._failures - 1)))
            return
        self._failures = 0
        self._not_before = float("-inf")
        self._pending = None
        self._applied_mood = mood
        self._applied_at = self._now
        self._plans = [*self._plans, plan][-_KEEP_PLANS:]

    def _defer(self, exc: Exception, seconds: float) -> None:
        self._not_before = self._clock() + seconds
        level = logging.ERROR if isinstance(exc, SpotifyAuthError) else logging.WARNING
        logger.log(
            level,
            "scene mood %s not applied yet (%s); trying again in %.0f s",
            self._pending.current if self._pending else None,
            exc,
            seconds,
        )

    def _write(self, plan: PlaylistPlan) -> None:
        api = self._api
        assert api is not None  # not dry-run means a client
        playlist_id = self._ensure_playlist()
        try:
            api.replace_items(playlist_id, plan.uris)
        except SpotifyApiError as exc:
            if exc.status != 404:
                raise
            logger.warning("playlist %s is gone (deleted?); creating a new one", playlist_id)
            self._forget_playlist()
            playlist_id = self._ensure_playlist()
            api.replace_items(playlist_id, plan.uris)
        logger.info(
            "playlist %r (%s) now has %d tracks for mood %s",
            plan.name,
            playlist_id,
            len(plan.uris),
            plan.mood,
        )
        if self.settings.play:
            self._play(playlist_id)

    # -- the playlist's ID, kept between runs so one playlist is reused ---------------------------
    @property
    def _state_path(self) -> Path:
        return self.settings.state_dir / STATE_FILE

    def _read_state(self) -> dict[str, Any]:
        try:
            state = json.loads(self._state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            logger.warning("ignoring unreadable %s (%s)", self._state_path, exc)
            return {}
        return state if isinstance(state, dict) else {}

    def _save_state(self, state: dict[str, Any]) -> None:
        from ._auth import write_private

        write_private(self._state_path, json.dumps(state, indent=2))

    def _ensure_playlist(self) -> str:
        if self._playlist_id:
            return self._playlist_id
        state = self._read_state()
        known = state.get("playlists", {}).get(self.settings.playlist_name)
        if isinstance(known, str) and known:
            self._playlist_id = known
            return known
        assert self._api is not None
        created = self._api.create_playlist(self.settings.playlist_name, self.settings.description)
        playlist_id = created.get("id")
        if not isinstance(playlist_id, str) or not playlist_id:
            raise SpotifyApiError(
                "POST /me/playlists answered without a playlist id", status=None, transient=True
            )
        state.setdefault("playlists", {})[self.settings.playlist_name] = playlist_id
        self._save_state(state)  # at once: a retry must reuse it, never create a second one
        self._playlist_id = playlist_id
        logger.info("created private playlist %r (%s)", self.settings.playlist_name, playlist_id)
        return playlist_id

    def _forget_playlist(self) -> None:
        state = self._read_state()
        state.get("playlists", {}).pop(self.settings.playlist_name, None)
        self._save_state(state)
        self._playlist_id = None

    def _play(self, playlist_id: str) -> None:
        """Starts the playlist on the active device; a Premium-only nicety, never fatal."""
        api = self._api
        assert api is not None
        try:
            if self._product is None:
                product = api.me().get("product")
                self._product = product if isinstance(product, str) else "unknown"
            if self._product != "premium":
                logger.warning("starting playback needs Spotify Premium; the playlist is ready")
                return
            devices = api.devices().get("devices")
            active = [
                d
                for d in devices or []
                if isinstance(d, dict)
                and d.get("is_active")
                and not d.get("is_restricted")
                and isinstance(d.get("id"), str)
            ]
            if not active:
                logger.info("no active Spotify device; open Spotify somewhere to play the playlist")
                return
            api.play(f"spotify:playlist:{playlist_id}", active[0]["id"])
        except (SpotifyApiError, SpotifyAuthError) as exc:
            logger.warning("playlist updated but playback not started: %s", exc)
