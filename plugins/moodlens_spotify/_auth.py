"""Login (Authorization Code with PKCE), the owner-only token cache, and the configured client.

Imported only where spotipy is needed; callers go through ``_deps.spotipy()``
first so a missing extra becomes MissingDependencyError with the pip command.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import stat
import tempfile
import threading
import webbrowser
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import spotipy
from moodlens import ensure_private_dir
from spotipy.cache_handler import CacheHandler
from spotipy.oauth2 import SpotifyOauthError, SpotifyPKCE

from ._config import SpotifySettings
from ._errors import SpotifyAuthError, SpotifyError
from ._redact import protect_logs

__all__ = ["TokenFile", "login", "logout", "make_auth_manager", "make_client", "token_path"]

logger = logging.getLogger(__name__)

TOKEN_FILE = "token.json"
_LOOPBACK = "127.0.0.1"


def token_path(settings: SpotifySettings) -> Path:
    """Where the login's tokens are cached."""
    return settings.state_dir / TOKEN_FILE


def write_private(path: Path, text: str) -> None:
    """Writes a file only its owner can read, atomically; its folder is owner-only too.

    The folder is made 0700 even when it already existed (it holds tokens).
    """
    ensure_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class TokenFile(CacheHandler):
    """spotipy cache handler: a JSON file created owner-only (0600), never briefly readable.

    spotipy's CacheFileHandler writes first and narrows permissions after; this
    one writes a 0600 temporary file and renames it into place.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def get_cached_token(self) -> dict[str, Any] | None:
        try:
            mode = self.path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                logger.warning("token cache %s was readable by others; made owner-only", self.path)
                os.chmod(self.path, 0o600)
            if self.path.parent.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                logger.warning("folder %s was open to others; made owner-only", self.path.parent)
                ensure_private_dir(self.path.parent)
            token = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            logger.warning("token cache %s cannot be read (%s); log in again", self.path, exc)
            return None
        return token if isinstance(token, dict) else None

    def save_token_to_cache(self, token_info: dict[str, Any]) -> None:
        write_private(self.path, json.dumps(token_info))


class _PKCE(SpotifyPKCE):
    """SpotifyPKCE that never falls back to an interactive login inside a stream.

    spotipy asks for a new authorization (browser, then ``input()``) whenever the
    cached token is missing or lacks a scope; in a plugin's worker thread that
    would block forever, so outside ``login()`` it raises instead.
    """

    interactive = False

    def get_authorization_code(self, response: str | None = None) -> str:
        if self.interactive or response:
            return str(super().get_authorization_code(response))
        raise SpotifyOauthError(
            "not logged in to Spotify (or the login lacks a scope these settings need)",
            error="login_required",
        )


def make_auth_manager(settings: SpotifySettings, *, interactive: bool = False) -> SpotifyPKCE:
    """The PKCE auth manager for these settings (client ID, redirect URI, scopes, cache).

    Raises:
        SpotifyAuthError: no client ID in the settings or ``SPOTIPY_CLIENT_ID``.
    """
    protect_logs()
    client_id = settings.resolved_client_id
    if not client_id:
        raise SpotifyAuthError(
            "no Spotify client ID: create an app at https://developer.spotify.com/dashboard, "
            "then set client_id in [plugins.spotify-playlist] or SPOTIPY_CLIENT_ID, "
            "or pass --client-id to `moodlens spotify login`."
        )
    manager = _PKCE(
        client_id=client_id,
        redirect_uri=settings.redirect_uri,
        scope=list(settings.scopes()),
        cache_handler=TokenFile(token_path(settings)),
        requests_timeout=settings.timeout,
        requests_session=requests.Session(),
        open_browser=False,
    )
    manager.interactive = interactive
    manager.OAUTH_AUTHORIZE_URL = settings.accounts_url + "authorize"
    manager.OAUTH_TOKEN_URL = settings.accounts_url + "api/token"
    return manager


def make_client(settings: SpotifySettings, auth_manager: Any = None) -> spotipy.Spotify:
    """A spotipy client with urllib3's retries off (they sleep for the whole Retry-After).

    The plugin does its own bounded retries; a plain requests.Session has no
    status retries, so 429s and 5xx reach it with their headers.

    Raises:
        SpotifyAuthError: no client ID (see make_auth_manager).
    """
    protect_logs()
    client = spotipy.Spotify(
        auth_manager=auth_manager or make_auth_manager(settings),
        requests_session=requests.Session(),
        requests_timeout=settings.timeout,
        retries=0,
        status_retries=0,
    )
    client.prefix = settings.api_url
    return client


def _check_redirect(uri: str) -> tuple[str, int, str]:
    parts = urlsplit(uri)
    host = parts.hostname or ""
    if parts.scheme != "http" or host != _LOOPBACK:
        raise SpotifyError(
            f"redirect URI {uri!r} must be http://127.0.0.1:PORT/callback (Spotify refuses "
            "'localhost'); register exactly that URI in your Spotify app's settings."
        )
    if not parts.port:
        raise SpotifyError(
            f"redirect URI {uri!r} needs a port, e.g. http://127.0.0.1:8888/callback"
        )
    return host, parts.port, parts.path or "/"


class _LoginServer(HTTPServer):
    expected_path: str = "/"
    query: dict[str, str] | None = None


class _Callback(BaseHTTPRequestHandler):
    server: Any

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        if url.path != self.server.expected_path:
            self.send_error(404)
            return
        self.server.query = {k: v[0] for k, v in parse_qs(url.query).items()}
        ok = "code" in self.server.query
        body = (
            "<h1>moodlens is logged in to Spotify.</h1>You can close this window."
            if ok
            else "<h1>Spotify login failed.</h1>See the terminal."
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.debug("login callback: " + format, *args)


def login(
    settings: SpotifySettings,
    *,
    open_url: Callable[[str], Any] = webbrowser.open,
    timeout: float = 300.0,
) -> dict[str, Any]:
    """Authorization Code with PKCE: opens the browser, waits for the redirect, caches tokens.

    Args:
        settings: client ID, redirect URI (``http://127.0.0.1:PORT/...``), scopes, cache.
        open_url: shows the authorization URL to the user (the browser by default).
        timeout: seconds to wait for the redirect.

    Returns:
        The token info (also written owner-only to the token cache).

    Raises:
        SpotifyAuthError: no client ID, the user declined, the state did not match,
            the code exchange failed or nothing came back in time.
        SpotifyError: a redirect URI that is not on 127.0.0.1 with a port.
    """
    host, port, path = _check_redirect(settings.redirect_uri)
    manager = make_auth_manager(settings, interactive=True)
    state = secrets.token_urlsafe(16)
    try:
        server = _LoginServer((host, port), _Callback)
    except OSError as exc:
        raise SpotifyError(
            f"cannot listen on {host}:{port} for the login redirect ({exc}); free the port "
            "or register another redirect URI and pass it with --redirect-uri."
        ) from None
    server.expected_path, server.query, server.timeout = path, None, 1.0
    url = manager.get_authorize_url(state=state)
    deadline = threading.Event()
    timer = threading.Timer(timeout, deadline.set)
    timer.start()
    try:
        open_url(url)
        while server.query is None and not deadline.is_set():
            server.handle_request()
    finally:
        timer.cancel()
        server.server_close()
    query = server.query
    if query is None:
        raise SpotifyAuthError(f"no answer from Spotify within {timeout:.0f} s; run login again.")
    if query.get("state") != state:
        raise SpotifyAuthError(
            "the login answer's state did not match (a stale or forged redirect)"
        )
    if "code" not in query:
        raise SpotifyAuthError(
            f"Spotify did not authorize moodlens ({query.get('error', 'no code')}); "
            "run login again."
        )
    try:
        manager.get_access_token(code=query["code"], check_cache=False)
    except SpotifyOauthError as exc:
        raise SpotifyAuthError(f"Spotify refused the login code ({exc}); run login again.") from exc
    except requests.RequestException as exc:
        raise SpotifyAuthError(f"cannot reach Spotify's accounts service: {exc}") from exc
    token = manager.cache_handler.get_cached_token()
    if not token:
        raise SpotifyAuthError(f"the token could not be cached in {token_path(settings)}")
    return token


def logout(settings: SpotifySettings) -> bool:
    """Deletes the cached tokens; True when there were any."""
    path = token_path(settings)
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed
