"""``moodlens spotify ...``: login, status, logout, and planning a playlist by hand.

Settings come from the ``[plugins.spotify-playlist]`` table of the moodlens
config file, then from the options given here. Exit codes, as for every
moodlens command: 0 success, 1 a failure while running (the message says what
to do), 2 a usage error (an unknown option or an invalid value, with the usage
line). ``-v`` logs what is sent to Spotify with every token redacted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from moodlens import Emotion, MoodlensError, __version__

from ._config import SpotifySettings
from ._deps import require_spotipy
from ._redact import protect_logs

__all__ = ["main"]

PLUGIN_NAME = "spotify-playlist"


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none to show."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or "%(default)" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _emotion(text: str) -> Emotion:
    try:
        return Emotion.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _whole_number(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {value}")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="moodlens spotify",
        description="The Spotify playlist plugin: login and playlists.",
        formatter_class=_HelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"moodlens spotify {__version__}")
    p.add_argument("--config", metavar="FILE", help="moodlens config file (default: the user's)")
    p.add_argument(
        "-v", "--verbose", action="store_true", help="log what is sent to Spotify (tokens redacted)"
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    login = sub.add_parser(
        "login",
        help="log in once (Authorization Code with PKCE, in the browser)",
        formatter_class=_HelpFormatter,
    )
    login.add_argument("--client-id", help="your Spotify app's client ID (or SPOTIPY_CLIENT_ID)")
    login.add_argument(
        "--redirect-uri", help="as registered in the app (http://127.0.0.1:PORT/callback)"
    )
    login.add_argument(
        "--no-browser", action="store_true", help="print the URL instead of opening it"
    )
    login.add_argument(
        "--timeout", type=_seconds, default=300.0, help="seconds to wait for the browser"
    )
    sub.add_parser("status", help="show the login, scopes and the managed playlist")
    sub.add_parser("logout", help="delete the cached tokens")
    sub.add_parser("config", help="print the effective settings (defaults included) as JSON")
    plan = sub.add_parser(
        "plan",
        help="build the playlist for a mood; prints it, writes nothing",
        formatter_class=_HelpFormatter,
    )
    plan.add_argument("mood", type=_emotion, help="one of: " + ", ".join(e.value for e in Emotion))
    plan.add_argument(
        "--strategy", choices=["match", "lift"], help="(default: the config's, else match)"
    )
    plan.add_argument(
        "--target", type=_emotion, help="where 'lift' ends (default: the config's, else happy)"
    )
    plan.add_argument(
        "--size", type=_whole_number(1, 100), help="tracks (default: the config's, else 20)"
    )
    plan.add_argument(
        "--offline", action="store_true", help="do not search: list the searches only"
    )
    plan.add_argument("--apply", action="store_true", help="also write it to your playlist")
    return p


def _settings(args: argparse.Namespace, **overrides: Any) -> SpotifySettings:
    from moodlens import load_plugin_config

    table = load_plugin_config(args.config).settings(PLUGIN_NAME)
    table = {k: v for k, v in table.items() if k != "dry_run"}
    table.update({k: v for k, v in overrides.items() if v is not None})
    return SpotifySettings.from_mapping(table)


def _login(args: argparse.Namespace) -> int:
    require_spotipy("moodlens spotify login")
    from ._api import WebApi
    from ._auth import login, make_client, token_path

    settings = _settings(args, client_id=args.client_id, redirect_uri=args.redirect_uri)

    def show(url: str) -> None:
        print(f"Open this address to let moodlens use your Spotify account:\n  {url}")
        if not args.no_browser:
            import webbrowser

            webbrowser.open(url)
        # Only now: a missing client ID or a busy port has already been said.
        print(f"Waiting for Spotify to redirect to {settings.redirect_uri} ...", flush=True)

    login(settings, open_url=show, timeout=args.timeout)
    me = WebApi(make_client(settings), max_attempts=settings.max_attempts).me()
    print(
        f"Logged in as {me.get('display_name') or me.get('id')} ({me.get('product', 'unknown')} "
        f"account). Token cached (owner-only) in {token_path(settings)}"
    )
    print(f"Scopes: {' '.join(settings.scopes())}")
    return 0


def _status(args: argparse.Namespace) -> int:
    settings = _settings(args)
    path = settings.state_dir / "token.json"
    print(
        "client ID:   ",
        settings.resolved_client_id or "(none: set client_id or SPOTIPY_CLIENT_ID)",
    )
    print(f"redirect URI: {settings.redirect_uri}")
    print(f"scopes:       {' '.join(settings.scopes())}")
    if not path.is_file():
        print(f"login:        none ({path} absent); run `moodlens spotify login`")
        return 0
    mode = path.stat().st_mode & 0o777
    try:
        token = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        print(f"login:        {path} is unreadable; run `moodlens spotify login`")
        return 1
    left = int(token.get("expires_at", 0) - time.time())
    granted = set(str(token.get("scope", "")).split())
    missing = [s for s in settings.scopes() if s not in granted]
    print(f"login:        {path} (mode {mode:o}{', TOO OPEN' if mode & 0o077 else ''})")
    print(
        "access token:",
        f"valid for {left // 60} min" if left > 0 else "expired (refreshed on use)",
    )
    if missing:
        print(f"missing scopes: {' '.join(missing)}; run `moodlens spotify login` again")
    state = settings.state_dir / "playlist.json"
    if state.is_file():
        ids = json.loads(state.read_text(encoding="utf-8")).get("playlists", {})
        for name, pid in ids.items():
            print(f"playlist:     {name!r} spotify:playlist:{pid}")
    return 0


def _logout(args: argparse.Namespace) -> int:
    settings = _settings(args)
    path = settings.state_dir / "token.json"
    if path.exists():
        path.unlink()
        print(f"Logged out: deleted {path}")
    else:
        print("Not logged in; nothing to delete.")
    return 0


def _plan(args: argparse.Namespace) -> int:
    mood = args.mood
    from ._plugin import SpotifyPlaylistPlugin

    settings = _settings(args, strategy=args.strategy, target=args.target, size=args.size)
    logged_in = (settings.state_dir / "token.json").is_file()
    if args.apply and (args.offline or not logged_in):
        print(
            "moodlens spotify: error: --apply needs a login (run `moodlens spotify login`) "
            "and no --offline",
            file=sys.stderr,
        )
        return 1
    client = None
    if logged_in and not args.offline:
        require_spotipy("moodlens spotify plan")
        from ._auth import make_client

        client = make_client(settings)
    elif not args.offline:
        print("(not logged in: listing the searches instead of their results)")
    plugin = SpotifyPlaylistPlugin(client=client, dry_run=not args.apply, settings=settings)
    try:
        plugin._apply_now(mood)
    finally:
        plugin.close()
    if not plugin.plans:
        print(
            "moodlens spotify: error: the playlist could not be built; see the log above",
            file=sys.stderr,
        )
        return 1
    print(plugin.plans[-1].describe())
    if args.apply:
        print(f"written to spotify:playlist:{plugin.playlist_id}")
    return 0


_COMMANDS = {"login": _login, "status": _status, "logout": _logout, "plan": _plan}


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ``moodlens spotify ARGS``; returns the exit code."""
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    protect_logs(*logging.getLogger().handlers)  # before any request: no token in the log
    try:
        if args.command == "config":
            print(json.dumps(_settings(args).to_dict(), indent=2))
            return 0
        return _COMMANDS[args.command](args)
    except MoodlensError as exc:
        print(f"moodlens spotify: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("moodlens spotify: interrupted", file=sys.stderr)
        return 130
