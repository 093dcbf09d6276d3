"""The plugin's settings: frozen dataclasses built from keyword arguments or TOML tables.

The same keys work as keyword arguments of SpotifyPlaylistPlugin and in the
moodlens config file::

    [plugins.spotify-playlist]
    playlist_name = "moodlens"
    strategy = "lift"          # or "match"
    target = "happy"           # where "lift" ends
    interval = 300             # seconds between playlist updates, at most

    [plugins.spotify-playlist.moods.sad]
    words = ["rainy day", "melancholy"]   # fields given replace the default's
    uris = ["spotify:track:4uLU6hMCjMI75M1A2tKUQC"]
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from moodlens import Emotion, adopt_legacy_path, user_config_dir

from ._errors import SpotifyError

__all__ = ["DEFAULT_MOODS", "MoodTarget", "SpotifySettings", "Strategy"]

logger = logging.getLogger(__name__)

_URI_KINDS = ("track", "playlist")
_SEED_SOURCES = ("top", "saved", "recent")


class Strategy(str, Enum):
    """How a mood becomes a playlist."""

    MATCH = "match"  # music that fits the mood
    LIFT = "lift"  # iso principle: start where the mood is, move towards the target mood

    def __str__(self) -> str:
        return self.value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise SpotifyError(f"{where} must be a list of strings, got {value!r}")
    items = tuple(value)
    if not all(isinstance(v, str) and v.strip() for v in items):
        raise SpotifyError(f"{where} must be a list of non-empty strings, got {list(items)!r}")
    return tuple(v.strip() for v in items)


@dataclass(frozen=True, slots=True)
class MoodTarget:
    """The music for one emotion.

    Search queries are built one per mood word, each with the next genre (in
    turn) and the year range: ``happy genre:"pop" year:2000-2026``. ``queries``
    are added as written (any Spotify search syntax). ``uris`` are the user's own
    tracks (``spotify:track:...``) or playlists (``spotify:playlist:...``),
    used before any search result.

    Raises:
        SpotifyError: a field of the wrong type, a bad year range or URI.
    """

    words: tuple[str, ...] = ()
    genres: tuple[str, ...] = ()
    years: str | None = None
    queries: tuple[str, ...] = ()
    uris: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("words", "genres", "queries", "uris"):
            object.__setattr__(self, name, _strings(getattr(self, name), f"MoodTarget.{name}"))
        if self.years is not None:
            _check_years(self.years)
        for uri in self.uris:
            parts = uri.split(":")
            if len(parts) != 3 or parts[0] != "spotify" or parts[1] not in _URI_KINDS:
                raise SpotifyError(
                    f"MoodTarget.uris: {uri!r} is not a Spotify track or playlist URI; "
                    "copy it from Spotify (Share > Copy link) as spotify:track:ID or "
                    "spotify:playlist:ID"
                )
        if not (self.words or self.queries or self.uris):
            raise SpotifyError("a MoodTarget needs mood words, queries or URIs; all are empty")

    def search_queries(self) -> tuple[str, ...]:
        """The search queries this target runs, in order, without repeats."""
        built = []
        for i, word in enumerate(self.words):
            parts = [word]
            if self.genres:
                parts.append(f'genre:"{self.genres[i % len(self.genres)]}"')
            if self.years:
                parts.append(f"year:{self.years}")
            built.append(" ".join(parts))
        return tuple(dict.fromkeys([*built, *self.queries]))

    @property
    def track_uris(self) -> tuple[str, ...]:
        return tuple(u for u in self.uris if u.startswith("spotify:track:"))

    @property
    def playlist_ids(self) -> tuple[str, ...]:
        return tuple(u.split(":")[2] for u in self.uris if u.startswith("spotify:playlist:"))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "words": list(self.words),
            "genres": list(self.genres),
            "queries": list(self.queries),
            "uris": list(self.uris),
        }
        if self.years is not None:
            out["years"] = self.years
        return out


def _check_years(years: str) -> None:
    low, sep, high = years.partition("-")
    ok = low.isdigit() and len(low) == 4 and (not sep or (high.isdigit() and len(high) == 4))
    if not ok or (sep and int(high) < int(low)):
        raise SpotifyError(
            f"MoodTarget.years must be a year or a range like '1990-2026', got {years!r}"
        )


def _target(words: str, genres: str, years: str = "1990-2026") -> MoodTarget:
    return MoodTarget(words=tuple(words.split(",")), genres=tuple(genres.split(",")), years=years)


DEFAULT_MOODS: Mapping[Emotion, MoodTarget] = MappingProxyType(
    {
        Emotion.ANGRY: _target("angry,rage,intense", "hard-rock,metal,punk"),
        Emotion.DISGUST: _target("gritty,defiant,raw", "grunge,hip-hop,punk"),
        Emotion.FEAR: _target("tense,dark,brooding", "ambient,soundtrack,post-rock"),
        Emotion.HAPPY: _target("happy,feel good,sunshine", "pop,dance,funk"),
        Emotion.SAD: _target("sad,melancholy,heartbreak", "indie,acoustic,singer-songwriter"),
        Emotion.SURPRISE: _target("upbeat,energetic,euphoric", "electronic,house,dance"),
        Emotion.NEUTRAL: _target("chill,focus,easy", "lo-fi,jazz,ambient"),
    }
)


ENV_DIR = "MOODLENS_SPOTIFY_DIR"


def legacy_state_dir() -> Path:
    """Where moodlens 0.1 kept the token on every platform: ``$XDG_CONFIG_HOME`` or ~/.config."""
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg else Path.home() / ".config") / "moodlens" / "spotify"


def default_state_dir() -> Path:
    """``$MOODLENS_SPOTIFY_DIR``, else ``moodlens.user_config_dir("spotify")``.

    A token left at the old location (``legacy_state_dir()``, which differs on macOS
    and Windows) is moved here once; if it cannot be moved, it is used where it is.
    """
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env).expanduser()
    current = user_config_dir("spotify")
    legacy = legacy_state_dir()
    if legacy != current and legacy.is_dir() and not current.exists():
        try:
            return adopt_legacy_path(legacy, current)
        except OSError as exc:
            logger.warning("cannot move %s to %s (%s); using it where it is", legacy, current, exc)
            return legacy
    return current


@dataclass(frozen=True, slots=True)
class SpotifySettings:
    """Everything the plugin can be told; defaults suit a first run.

    Attributes:
        playlist_name: the one private playlist the plugin creates, then updates.
        description: its description, set when it is created.
        strategy: ``match`` or ``lift`` (iso principle).
        target: the mood ``lift`` moves towards.
        steps: how many moods ``lift`` passes through, first and last included (2-7).
        size: tracks in the playlist (1-100).
        interval: least seconds (on the stream's clock) between two playlist updates.
        seed_from: the user's own tracks that seed the playlist: ``top``, ``saved``,
            ``recent``; their artists rank first and get their own mood searches.
        seed_artists: how many of those artists get a mood search of their own (0-5).
        market: search market (``from_token``: the user's country), or None.
        pages: search pages of 10 results read per query at most (1-5).
        play: start the playlist on the user's active device (Premium only).
        apply_on_stop: when the stream stops, apply a mood change still waiting for
            the interval, so the playlist ends on the last steady mood.
        client_id: the Spotify app's client ID (or ``SPOTIPY_CLIENT_ID``).
        redirect_uri: registered in the Spotify app; must be ``http://127.0.0.1:PORT/...``.
        cache_dir: where the token and the playlist's ID are kept (an owner-only
            folder); default ``$MOODLENS_SPOTIFY_DIR``, else
            ``moodlens.user_config_dir("spotify")`` (``~/.config/moodlens/spotify`` on Linux).
        api_url: Web API base (tests point this at a fake server).
        accounts_url: accounts service base for login and token refresh.
        timeout: seconds one HTTP request may take.
        max_attempts: tries per request for network errors, 5xx and malformed JSON (1-5).
        max_wait: longest single wait before retrying, in seconds; a 429 asking for
            longer is deferred (the mood stays pending) instead of waited for.
        moods: the music target for each emotion.

    Raises:
        SpotifyError: a value out of range or of the wrong type (the message says which).
    """

    playlist_name: str = "moodlens"
    description: str = "Made by moodlens from your steady mood."
    strategy: Strategy = Strategy.MATCH
    target: Emotion = Emotion.HAPPY
    steps: int = 3
    size: int = 20
    interval: float = 300.0
    seed_from: tuple[str, ...] = ("top",)
    seed_artists: int = 2
    market: str | None = "from_token"
    pages: int = 2
    play: bool = False
    apply_on_stop: bool = True
    client_id: str | None = None
    redirect_uri: str = "http://127.0.0.1:8888/callback"
    cache_dir: Path | None = None
    api_url: str = "https://api.spotify.com/v1/"
    accounts_url: str = "https://accounts.spotify.com/"
    timeout: float = 5.0
    max_attempts: int = 3
    max_wait: float = 2.0
    moods: Mapping[Emotion, MoodTarget] = field(default_factory=lambda: DEFAULT_MOODS)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        try:
            set_(self, "strategy", Strategy(str(self.strategy).lower()))
        except ValueError:
            raise SpotifyError(
                f"strategy must be 'match' or 'lift', got {self.strategy!r}"
            ) from None
        try:
            set_(self, "target", Emotion.parse(self.target))
        except ValueError as exc:
            raise SpotifyError(f"target: {exc}") from None
        for name in ("playlist_name", "redirect_uri", "api_url", "accounts_url"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise SpotifyError(f"{name} must be a non-empty string, got {value!r}")
        if not isinstance(self.description, str):
            raise SpotifyError(f"description must be a string, got {self.description!r}")
        for name in ("api_url", "accounts_url"):
            set_(self, name, getattr(self, name).rstrip("/") + "/")
        _int_in(self, "steps", 2, 7)
        _int_in(self, "size", 1, 100)
        _int_in(self, "seed_artists", 0, 5)
        _int_in(self, "pages", 1, 5)
        _int_in(self, "max_attempts", 1, 5)
        _number_in(self, "interval", 0.0, math.inf)
        _number_in(self, "timeout", 0.1, 120.0)
        _number_in(self, "max_wait", 0.0, 60.0)
        for name in ("play", "apply_on_stop"):
            if not isinstance(getattr(self, name), bool):
                raise SpotifyError(f"{name} must be true or false, got {getattr(self, name)!r}")
        seeds = _strings(self.seed_from, "seed_from") if self.seed_from else ()
        unknown = [s for s in seeds if s not in _SEED_SOURCES]
        if unknown:
            raise SpotifyError(
                f"seed_from: unknown {unknown!r}; choose from {list(_SEED_SOURCES)} or []"
            )
        set_(self, "seed_from", tuple(dict.fromkeys(seeds)))
        if self.market is not None and not isinstance(self.market, str):
            raise SpotifyError(
                f"market must be a country code, 'from_token' or unset, got {self.market!r}"
            )
        if self.client_id is not None and not isinstance(self.client_id, str):
            raise SpotifyError(f"client_id must be a string, got {self.client_id!r}")
        if self.cache_dir is not None:
            set_(self, "cache_dir", Path(self.cache_dir).expanduser())
        set_(self, "moods", _moods(self.moods))

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> SpotifySettings:
        """Settings from keyword arguments or a TOML table; ``moods`` merges per field.

        Raises:
            SpotifyError: an unknown key (the message lists the known ones) or a bad value.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise SpotifyError(
                f"unknown Spotify setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        values = dict(settings)
        if "moods" in values:
            values["moods"] = merge_moods(DEFAULT_MOODS, values["moods"])
        return cls(**values)

    def with_changes(self, **changes: Any) -> SpotifySettings:
        """A copy with some settings changed (validated again)."""
        return replace(self, **changes)

    @property
    def state_dir(self) -> Path:
        """The folder for the token cache and the playlist's ID."""
        return self.cache_dir if self.cache_dir is not None else default_state_dir()

    @property
    def resolved_client_id(self) -> str | None:
        return self.client_id or os.environ.get("SPOTIPY_CLIENT_ID") or None

    def scopes(self) -> tuple[str, ...]:
        """The least OAuth scopes these settings need."""
        scopes = ["playlist-modify-private"]
        if any(t.playlist_ids for t in self.moods.values()):
            scopes.append("playlist-read-private")
        if "top" in self.seed_from:
            scopes.append("user-top-read")
        if "saved" in self.seed_from:
            scopes.append("user-library-read")
        if "recent" in self.seed_from:
            scopes.append("user-read-recently-played")
        if self.play:
            scopes += ["user-read-playback-state", "user-modify-playback-state"]
        return tuple(scopes)

    def to_dict(self) -> dict[str, Any]:
        """TOML-ready values (None left out), moods by emotion value."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if f.name == "moods":
                value = {e.value: t.to_dict() for e, t in value.items()}
            elif isinstance(value, Enum):
                value = value.value
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


def merge_moods(base: Mapping[Emotion, MoodTarget], given: Any) -> dict[Emotion, MoodTarget]:
    """``base`` with the fields given per emotion replaced (``{"sad": {"words": [...]}}``).

    Raises:
        SpotifyError: not a table of emotions to tables, an unknown emotion or field.
    """
    if not isinstance(given, Mapping):
        raise SpotifyError(f"moods must be a table of emotions, got {given!r}")
    merged = dict(base)
    names = {f.name for f in fields(MoodTarget)}
    for key, value in given.items():
        try:
            emotion = Emotion.parse(key)
        except ValueError as exc:
            raise SpotifyError(f"moods: {exc}") from None
        if isinstance(value, MoodTarget):
            merged[emotion] = value
            continue
        if not isinstance(value, Mapping):
            raise SpotifyError(f"moods.{emotion.value} must be a table, got {value!r}")
        unknown = sorted(set(value) - names)
        if unknown:
            raise SpotifyError(
                f"moods.{emotion.value}: unknown field(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(names))}"
            )
        current = merged.get(emotion)
        merged[emotion] = replace(current, **value) if current else MoodTarget(**value)
    return merged


def _moods(value: Any) -> Mapping[Emotion, MoodTarget]:
    if not isinstance(value, Mapping):
        raise SpotifyError(f"moods must map emotions to MoodTarget, got {value!r}")
    moods = merge_moods(DEFAULT_MOODS, {k: v for k, v in value.items()})
    return MappingProxyType({e: moods[e] for e in Emotion})


def _int_in(obj: Any, name: str, low: int, high: int) -> None:
    value = getattr(obj, name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SpotifyError(f"{name} must be a whole number from {low} to {high}, got {value!r}")


def _number_in(obj: Any, name: str, low: float, high: float) -> None:
    value = getattr(obj, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise SpotifyError(f"{name} must be a number from {low} to {high}, got {value!r}")
    object.__setattr__(obj, name, float(value))
