"""The Web API calls the plugin makes, each on an endpoint still open to new apps.

Every call goes through spotipy's client (``_get``/``_post``/``_put``) with the
path written here, not through spotipy helpers that may still call removed
paths (``users/{id}/playlists``, ``playlists/{id}/tracks``). Failures are
translated at this boundary:

- network errors, 5xx and malformed JSON: retried ``max_attempts`` times with
  capped exponential backoff (each wait at most ``max_wait`` seconds);
- 429: retried once the Retry-After fits in ``max_wait``, otherwise raised at
  once as RateLimitedError so the caller can defer the work;
- 401: the token is refreshed once through the client's auth manager, then the
  call is retried; a login that cannot be refreshed raises SpotifyAuthError.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from ._errors import RateLimitedError, SpotifyApiError, SpotifyAuthError

__all__ = ["REMOVED_ENDPOINTS", "WebApi"]

logger = logging.getLogger(__name__)

# Closed to new and development-mode apps (2024-11-27 and 2026-02); never called.
REMOVED_ENDPOINTS = (
    "recommendations",
    "audio-features",
    "audio-analysis",
    "artists/{id}/related-artists",
    "browse/featured-playlists",
    "browse/categories/{id}/playlists",
    "users/{id}/playlists",
    "playlists/{id}/tracks",
)
DEFAULT_RETRY_AFTER = 30.0  # when a 429 names no Retry-After
SEARCH_PAGE = 10  # the most results a search page returns since 2026-02


def _retry_after(headers: Mapping[str, Any] | None) -> float:
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                break
    return DEFAULT_RETRY_AFTER


class WebApi:
    """The plugin's view of the Web API, over a configured ``spotipy.Spotify``.

    Args:
        client: a spotipy.Spotify; its ``prefix`` says where the API is.
        max_attempts: tries per call for transient failures.
        max_wait: the longest single wait between tries, in seconds.
        sleep: how to wait (tests pass a recorder).
        backoff: the first wait; it doubles per try, capped at ``max_wait``.

    Example:
        >>> api = WebApi(client)
        >>> api.search('happy genre:"pop"', offset=0)["tracks"]["items"]
    """

    def __init__(
        self,
        client: Any,
        *,
        max_attempts: int = 3,
        max_wait: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        backoff: float = 0.25,
    ) -> None:
        import requests
        from spotipy.exceptions import SpotifyException
        from spotipy.oauth2 import SpotifyOauthError

        self.client = client
        self.max_attempts, self.max_wait = max_attempts, max_wait
        self._sleep, self._backoff = sleep, backoff
        self._spotify_error, self._oauth_error = SpotifyException, SpotifyOauthError
        self._network_error = requests.RequestException
        from ._redact import protect_logs

        protect_logs()  # a client built by the app logs its token at DEBUG too
        _disable_status_retries(client)

    # -- the endpoints -----------------------------------------------------------------------
    def me(self) -> dict[str, Any]:
        """GET /me: the user's id, country and product (``premium`` or not)."""
        return self._call("GET", "me", expect=dict)

    def search(self, query: str, *, offset: int = 0, market: str | None = None) -> dict[str, Any]:
        """GET /search for tracks: one page of at most 10."""
        params = {"q": query, "type": "track", "limit": SEARCH_PAGE, "offset": offset}
        if market:
            params["market"] = market
        return self._call("GET", "search", params=params, expect=dict)

    def top_tracks(self, *, limit: int = 50) -> dict[str, Any]:
        """GET /me/top/tracks over the last four weeks."""
        return self._call(
            "GET", "me/top/tracks", params={"time_range": "short_term", "limit": limit}, expect=dict
        )

    def saved_tracks(self, *, limit: int = 50) -> dict[str, Any]:
        """GET /me/tracks: the user's liked songs, newest first."""
        return self._call("GET", "me/tracks", params={"limit": limit}, expect=dict)

    def recently_played(self, *, limit: int = 50) -> dict[str, Any]:
        """GET /me/player/recently-played."""
        return self._call("GET", "me/player/recently-played", params={"limit": limit}, expect=dict)

    def playlist_items(self, playlist_id: str, *, offset: int = 0) -> dict[str, Any]:
        """GET /playlists/{id}/items (the user's own playlists): items carry ``item``."""
        return self._call(
            "GET",
            f"playlists/{playlist_id}/items",
            params={"limit": 50, "offset": offset},
            expect=dict,
        )

    def create_playlist(self, name: str, description: str) -> dict[str, Any]:
        """POST /me/playlists: a private, non-collaborative playlist."""
        body = {"name": name, "public": False, "collaborative": False, "description": description}
        return self._call("POST", "me/playlists", body=body, expect=dict)

    def replace_items(self, playlist_id: str, uris: list[str]) -> None:
        """PUT /playlists/{id}/items: the playlist becomes exactly ``uris`` (at most 100)."""
        self._call("PUT", f"playlists/{playlist_id}/items", body={"uris": uris})

    def devices(self) -> dict[str, Any]:
        """GET /me/player/devices (Premium)."""
        return self._call("GET", "me/player/devices", expect=dict)

    def play(self, context_uri: str, device_id: str) -> None:
        """PUT /me/player/play?device_id=...: plays a playlist from its start (Premium)."""
        self._call(
            "PUT",
            "me/player/play",
            params={"device_id": device_id},
            body={"context_uri": context_uri, "offset": {"position": 0}},
        )

    # -- one call, with bounded retries ---------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        expect: type | None = None,
    ) -> Any:
        send = {"GET": self.client._get, "POST": self.client._post, "PUT": self.client._put}[method]
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            try:
                result = send(path, payload=body, **dict(params or {}))
            except self._spotify_error as exc:
                status = exc.http_status
                if status == 401 and not refreshed:
                    refreshed = True
                    self._refresh()
                    attempt -= 1
                    continue
                if status == 401:
                    raise SpotifyAuthError(
                        "Spotify refused the refreshed login (401); run `moodlens spotify login`."
                    ) from exc
                if status == 429:
                    wait = _retry_after(exc.headers)
                    if wait <= self.max_wait and attempt < self.max_attempts:
                        logger.info("%s %s: 429, retrying in %.1f s", method, path, wait)
                        self._sleep(wait)
                        continue
                    raise RateLimitedError(
                        f"{method} /{path}: rate limited, Spotify asks to wait {wait:.0f} s",
                        retry_after=wait,
                    ) from exc
                if status is not None and status < 500:
                    raise SpotifyApiError(
                        f"{method} /{path} failed with {status}: {exc.msg}",
                        status=status,
                        transient=False,
                        reason=exc.reason,
                    ) from exc
                problem: str = f"server error {status}"
                last: Exception = exc
                status_seen: int | None = status
            except self._oauth_error as exc:
                raise _auth_error(exc) from exc
            except self._network_error as exc:
                problem, last, status_seen = f"network error ({type(exc).__name__})", exc, None
            else:
                if expect is None or isinstance(result, expect):
                    return result
                problem = f"malformed response (expected JSON {expect.__name__})"
                last, status_seen = ValueError(problem), 200
            if attempt >= self.max_attempts:
                raise SpotifyApiError(
                    f"{method} /{path}: {problem} after {attempt} tries",
                    status=status_seen,
                    transient=True,
                ) from last
            wait = min(self.max_wait, self._backoff * 2 ** (attempt - 1))
            logger.info("%s %s: %s, retry %d in %.2f s", method, path, problem, attempt, wait)
            self._sleep(wait)

    def _refresh(self) -> None:
        manager: Any = getattr(self.client, "auth_manager", None)
        cache = getattr(manager, "cache_handler", None)
        token = cache.get_cached_token() if cache is not None else None
        if not token or not token.get("refresh_token"):
            raise SpotifyAuthError(
                "Spotify says the login expired (401) and there is no refresh token; "
                "run `moodlens spotify login`."
            )
        logger.info("Spotify answered 401; refreshing the access token")
        try:
            manager.refresh_access_token(token["refresh_token"])
        except self._oauth_error as exc:
            raise _auth_error(exc) from exc
        except self._network_error as exc:
            raise SpotifyApiError(
                f"cannot refresh the Spotify login: network error ({exc})",
                status=None,
                transient=True,
            ) from exc


def _auth_error(exc: Exception) -> SpotifyAuthError | SpotifyApiError:
    error = getattr(exc, "error", None)
    if error in ("login_required", "invalid_grant", "invalid_client", "invalid_request"):
        return SpotifyAuthError(
            f"Spotify login is not usable ({exc}); run `moodlens spotify login`."
        )
    # the accounts service failed (5xx, HTML instead of JSON): may work later
    return SpotifyApiError(f"cannot refresh the Spotify login ({exc})", status=None, transient=True)


def _disable_status_retries(client: Any) -> None:
    """Turns off urllib3 status retries on the client's session: they sleep out Retry-After."""
    session: Any = getattr(client, "_session", None)
    adapters = getattr(session, "adapters", None)
    if not adapters:
        return
    import requests

    for prefix, adapter in list(adapters.items()):
        retries: Any = getattr(adapter, "max_retries", None)
        if getattr(retries, "status_forcelist", None) and (retries.total or retries.status):
            logger.info(
                "turning off urllib3 status retries on the given spotipy client (%s): they can "
                "sleep for a 429's whole Retry-After; moodlens retries within bounds itself",
                prefix,
            )
            session.mount(prefix, requests.adapters.HTTPAdapter(max_retries=0))
