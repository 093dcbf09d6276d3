"""From a mood to an ordered list of tracks: mood paths, candidates, de-duplication.

``match`` fills the playlist from the mood's own target. ``lift`` follows the
iso principle: the playlist starts with music that fits the current mood and
moves, stage by stage, towards the target mood. The stages are the emotions
nearest to evenly spaced points on the straight line between the two moods on
the valence-arousal circumplex, so sad -> happy passes through neutral.

Audio features are closed to new apps, so a track's mood comes only from where
it was found (which search, which of the user's URIs); the user's top, saved or
recent tracks say which artists they know, and those rank first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from moodlens import Emotion

from ._config import SpotifySettings, Strategy
from ._errors import SpotifyApiError

__all__ = ["CIRCUMPLEX", "PlaylistPlan", "Planner", "Stage", "Track", "mood_path", "split_sizes"]

logger = logging.getLogger(__name__)

# (valence, arousal) of each emotion, after Russell's circumplex model of affect.
CIRCUMPLEX: Mapping[Emotion, tuple[float, float]] = {
    Emotion.ANGRY: (-0.6, 0.8),
    Emotion.DISGUST: (-0.7, 0.3),
    Emotion.FEAR: (-0.5, 0.6),
    Emotion.HAPPY: (0.8, 0.5),
    Emotion.SAD: (-0.7, -0.5),
    Emotion.SURPRISE: (0.4, 0.8),
    Emotion.NEUTRAL: (0.0, 0.0),
}


@dataclass(frozen=True, slots=True)
class Track:
    """A track candidate: its URI, and its name and artists when known."""

    uri: str
    name: str = ""
    artists: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        """Same song on another release (single, album, deluxe) has the same key."""
        if not self.name or not self.artists:
            return (self.uri, "")
        return (self.name.casefold().strip(), self.artists[0].casefold().strip())

    def label(self) -> str:
        if not self.name:
            return self.uri
        return f"{', '.join(self.artists) or '?'} - {self.name}  ({self.uri})"


@dataclass(frozen=True, slots=True)
class Stage:
    """One mood of the playlist and the tracks found for it."""

    mood: Emotion
    wanted: int
    queries: tuple[str, ...]
    tracks: tuple[Track, ...]


@dataclass(frozen=True, slots=True)
class PlaylistPlan:
    """The playlist built for one mood.

    Attributes:
        mood: the steady scene mood that triggered it.
        strategy: ``match`` or ``lift``.
        stages: the moods it passes through, in order, with their tracks.
        searched: False when built without a client (dry-run with no account):
            the stages then list the searches that would run.
        name: the playlist's name.
    """

    mood: Emotion
    strategy: Strategy
    stages: tuple[Stage, ...]
    searched: bool
    name: str

    @property
    def tracks(self) -> tuple[Track, ...]:
        return tuple(t for s in self.stages for t in s.tracks)

    @property
    def uris(self) -> list[str]:
        return [t.uri for t in self.tracks]

    @property
    def path(self) -> tuple[Emotion, ...]:
        return tuple(s.mood for s in self.stages)

    def describe(self) -> str:
        """A readable account of the playlist, as the dry-run logs and the CLI prints it."""
        path = " -> ".join(m.value for m in self.path)
        lines = [
            f"playlist {self.name!r} (private) for mood {self.mood.value}, "
            f"strategy {self.strategy.value}: {path}; {len(self.tracks)} tracks"
        ]
        n = 0
        for stage in self.stages:
            lines.append(f"  [{stage.mood.value}] {stage.wanted} wanted")
            if not self.searched:
                lines += [f"    would search: {q}" for q in stage.queries]
            for track in stage.tracks:
                n += 1
                lines.append(f"    {n:3d}. {track.label()}")
        return "\n".join(lines)


def mood_path(
    start: Emotion, target: Emotion, steps: int, moods: Iterable[Emotion] = Emotion
) -> tuple[Emotion, ...]:
    """The moods a ``lift`` playlist passes through, from ``start`` to ``target``.

    Args:
        start: the current mood (the first stage).
        target: the mood to end on (the last stage).
        steps: points sampled on the line between them, ends included (>= 2).
        moods: the emotions a stage may take.

    Returns:
        Distinct consecutive moods, beginning with ``start`` and ending with ``target``.
    """
    if start == target:
        return (start,)
    allowed = [m for m in moods if m not in (start, target)]
    (x0, y0), (x1, y1) = CIRCUMPLEX[start], CIRCUMPLEX[target]
    path = [start]
    for i in range(1, steps - 1):
        t = i / (steps - 1)
        px, py = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
        candidates = [start, target, *allowed]
        nearest = min(
            candidates, key=lambda m: (CIRCUMPLEX[m][0] - px) ** 2 + (CIRCUMPLEX[m][1] - py) ** 2
        )
        if nearest not in path:  # never go back to a mood already passed
            path.append(nearest)
    if path[-1] != target:
        path.append(target)
    return tuple(dict.fromkeys(path))


def split_sizes(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal counts, earlier parts getting the remainder."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def parse_track(obj: Any) -> Track | None:
    """A Track from a Web API track object, or None when it is not a playable track."""
    if not isinstance(obj, Mapping):
        return None
    uri = obj.get("uri")
    if not isinstance(uri, str) or not uri.startswith("spotify:track:"):
        return None
    if obj.get("is_playable") is False:
        return None
    name = str(obj["name"]) if isinstance(obj.get("name"), str) else ""
    artists: list[Any] = obj["artists"] if isinstance(obj.get("artists"), list) else []
    names = tuple(
        a["name"] for a in artists if isinstance(a, Mapping) and isinstance(a.get("name"), str)
    )
    return Track(uri, name, names)


def _page_tracks(page: Any, wrapper: str | None) -> tuple[list[Track], bool]:
    """A page's tracks (each item wrapped in ``wrapper`` when given) and whether more follow."""
    if not isinstance(page, Mapping) or not isinstance(page.get("items"), list):
        return [], False
    tracks = []
    for item in page["items"]:
        if wrapper is not None:
            item = item.get(wrapper) if isinstance(item, Mapping) else None
        track = parse_track(item)
        if track is not None:
            tracks.append(track)
    return tracks, bool(page.get("next"))


def _round_robin(lists: Sequence[Sequence[Track]]) -> Iterator[Track]:
    for i in range(max((len(x) for x in lists), default=0)):
        for x in lists:
            if i < len(x):
                yield x[i]


class Planner:
    """Builds PlaylistPlans; without an API it plans the searches only (dry-run, no account).

    Args:
        settings: the plugin's settings.
        api: a WebApi, or None to plan without calling Spotify.

    Raises (from plan):
        SpotifyApiError, SpotifyAuthError: a failure the caller should defer on.
    """

    def __init__(self, settings: SpotifySettings, api: Any) -> None:
        self.settings = settings
        self.api: Any = api  # a WebApi, or None
        self._artists: tuple[str, ...] | None = None

    def forget(self) -> None:
        """Drops what was learnt about the user (their artists); read again next plan."""
        self._artists = None

    def plan(self, mood: Emotion) -> PlaylistPlan:
        s = self.settings
        if s.strategy is Strategy.LIFT:
            path = mood_path(mood, s.target, s.steps, s.moods)
        else:
            path = (mood,)
        sizes = split_sizes(s.size, len(path))
        artists = self._familiar_artists() if self.api is not None else ()
        known = {a.casefold() for a in artists}
        seen_uris: set[str] = set()
        seen_keys: set[tuple[str, str]] = set()
        stages: list[Stage] = []
        leftovers: list[Track] = []
        for stage_mood, wanted in zip(path, sizes, strict=True):
            target = s.moods[stage_mood]
            queries = target.search_queries()
            if artists and s.seed_artists and target.words:
                queries += tuple(
                    f'{target.words[0]} artist:"{a}"' for a in artists[: s.seed_artists]
                )
            chosen: list[Track] = []

            def take(candidates: Iterable[Track], limit: int, sink: list[Track] = chosen) -> None:
                for track in candidates:
                    if len(sink) >= limit:
                        return
                    if track.uri in seen_uris or track.key in seen_keys:
                        continue
                    seen_uris.add(track.uri)
                    seen_keys.add(track.key)
                    sink.append(track)

            take((Track(u) for u in target.track_uris), wanted)
            if self.api is not None:
                for playlist_id in target.playlist_ids:
                    take(self._playlist_tracks(playlist_id), wanted)
                found = self._search(queries, wanted - len(chosen), seen_uris, seen_keys)
                ranked = sorted(
                    found, key=lambda t: not (known & {a.casefold() for a in t.artists})
                )
                take(ranked, wanted)
                leftovers += [t for t in ranked if t.uri not in seen_uris]
            stages.append(Stage(stage_mood, wanted, queries, tuple(chosen)))
        missing = s.size - sum(len(st.tracks) for st in stages)
        if missing > 0 and leftovers:
            extra: list[Track] = []
            for track in leftovers:
                if len(extra) >= missing:
                    break
                if track.uri not in seen_uris and track.key not in seen_keys:
                    seen_uris.add(track.uri)
                    seen_keys.add(track.key)
                    extra.append(track)
            last = stages[-1]
            stages[-1] = Stage(last.mood, last.wanted, last.queries, last.tracks + tuple(extra))
        return PlaylistPlan(mood, s.strategy, tuple(stages), self.api is not None, s.playlist_name)

    # -- sources ------------------------------------------------------------------------------
    def _search(
        self,
        queries: Sequence[str],
        wanted: int,
        seen_uris: set[str],
        seen_keys: set[tuple[str, str]],
    ) -> list[Track]:
        """Search pages, a page of every query per round, until ``wanted`` new tracks are found."""
        per_query: list[list[Track]] = [[] for _ in queries]
        open_queries = list(range(len(queries)))
        for page in range(self.settings.pages):
            if not open_queries or wanted <= 0:
                break
            for i in list(open_queries):
                result = self.api.search(queries[i], offset=page * 10, market=self.settings.market)
                tracks, more = _page_tracks(result.get("tracks"), None)
                per_query[i] += tracks
                if not more:
                    open_queries.remove(i)
            new = {
                t.key
                for t in _round_robin(per_query)
                if t.uri not in seen_uris and t.key not in seen_keys
            }
            if len(new) >= wanted:
                break
        return list(_round_robin(per_query))

    def _playlist_tracks(self, playlist_id: str) -> list[Track]:
        tracks: list[Track] = []
        offset = 0
        for _ in range(4):  # 200 tracks are plenty for one mood
            try:
                page = self.api.playlist_items(playlist_id, offset=offset)
            except SpotifyApiError as exc:
                if exc.transient:
                    raise
                logger.warning(
                    "cannot read playlist %s (%s); is it yours? skipping it", playlist_id, exc
                )
                return tracks
            found, more = _page_tracks(page, "item")
            if not found and isinstance(page.get("items"), list):
                found, more = _page_tracks(page, "track")  # before 2026-02 items carried "track"
            tracks += found
            if not more:
                break
            offset += 50
        return tracks

    def _familiar_artists(self) -> tuple[str, ...]:
        """The user's artists from their top, saved and recent tracks, most frequent first."""
        if self._artists is not None:
            return self._artists
        counts: dict[str, int] = {}
        sources = {
            "top": (lambda: self.api.top_tracks(), None),
            "saved": (lambda: self.api.saved_tracks(), "track"),
            "recent": (lambda: self.api.recently_played(), "track"),
        }
        for name in self.settings.seed_from:
            fetch, wrapper = sources[name]
            try:
                page = fetch()
            except SpotifyApiError as exc:
                if exc.transient:
                    raise
                logger.warning("cannot read your %s tracks (%s); planning without them", name, exc)
                continue
            for track in _page_tracks(page, wrapper)[0]:
                for artist in track.artists[:1]:
                    counts[artist] = counts.get(artist, 0) + 1
        self._artists = tuple(sorted(counts, key=lambda a: (-counts[a], a)))
        return self._artists
