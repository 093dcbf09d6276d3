"""Settings: defaults, TOML overrides, validation messages, scopes; the planner's pure parts."""

from __future__ import annotations

import pytest
import tomllib
from hypothesis import given, settings
from hypothesis import strategies as st
from moodlens import Emotion
from moodlens_spotify import (
    DEFAULT_MOODS,
    MoodTarget,
    SpotifyError,
    SpotifySettings,
    Strategy,
    mood_path,
)
from moodlens_spotify._planner import CIRCUMPLEX, Planner, Track, split_sizes


def test_defaults_cover_every_emotion_with_genre_and_year_filtered_searches():
    s = SpotifySettings()
    assert set(s.moods) == set(Emotion)
    for target in s.moods.values():
        for q in target.search_queries():
            assert 'genre:"' in q and "year:1990-2026" in q
    assert s.strategy is Strategy.MATCH and s.scopes() == (
        "playlist-modify-private",
        "user-top-read",
    )


def test_a_toml_table_overrides_fields_and_moods_per_field():
    table = tomllib.loads("""
        playlist_name = "my mood"
        strategy = "lift"
        target = "Neutral"
        interval = 120
        seed_from = ["saved"]
        play = true
        [moods.sad]
        words = ["rainy day"]
        uris = ["spotify:track:4uLU6hMCjMI75M1A2tKUQC", "spotify:playlist:37i9dQZF1DX7qK8ma5wgG1"]
    """)
    s = SpotifySettings.from_mapping(table)
    assert (s.playlist_name, s.strategy, s.target, s.interval) == (
        "my mood",
        Strategy.LIFT,
        Emotion.NEUTRAL,
        120.0,
    )
    assert s.moods[Emotion.SAD].words == ("rainy day",)
    assert s.moods[Emotion.SAD].genres == DEFAULT_MOODS[Emotion.SAD].genres  # kept
    assert s.moods[Emotion.SAD].playlist_ids == ("37i9dQZF1DX7qK8ma5wgG1",)
    assert s.moods[Emotion.HAPPY] == DEFAULT_MOODS[Emotion.HAPPY]
    assert s.scopes() == (
        "playlist-modify-private",
        "playlist-read-private",
        "user-library-read",
        "user-read-playback-state",
        "user-modify-playback-state",
    )


@pytest.mark.parametrize(
    ("settings_", "message"),
    [
        ({"strategy": "shuffle"}, "strategy must be 'match' or 'lift'"),
        ({"target": "bored"}, "unknown emotion 'bored'"),
        ({"size": 0}, "size must be a whole number from 1 to 100"),
        ({"size": 101}, "size must be a whole number from 1 to 100"),
        ({"size": True}, "size must be"),
        ({"interval": -1}, "interval must be a number"),
        ({"interval": float("nan")}, "interval must be a number"),
        ({"max_wait": 3600}, "max_wait must be a number from 0.0 to 60.0"),
        ({"seed_from": ["friends"]}, "seed_from: unknown"),
        ({"seed_from": "top"}, "seed_from must be a list"),
        ({"play": "yes"}, "play must be true or false"),
        ({"playlist_name": ""}, "playlist_name must be a non-empty string"),
        ({"moods": {"sad": {"years": "2026-1990"}}}, "years must be a year or a range"),
        (
            {"moods": {"sad": {"uris": ["https://open.spotify.com/x"]}}},
            "not a Spotify track or playlist URI",
        ),
        (
            {"moods": {"sad": {"words": [], "queries": [], "uris": []}}},
            "needs mood words, queries or URIs",
        ),
        ({"moods": {"sad": {"mood": ["x"]}}}, "moods.sad: unknown field"),
        ({"moods": {"bored": {}}}, "unknown emotion"),
        ({"moods": ["sad"]}, "moods must be a table"),
        ({"colour": "blue"}, "unknown Spotify setting"),
    ],
)
def test_bad_settings_say_what_is_wrong(settings_, message):
    with pytest.raises(SpotifyError, match=message.replace("(", r"\(").replace("[", r"\[")):
        SpotifySettings.from_mapping(settings_)


words = st.lists(
    st.text("abcdefgh ", min_size=1, max_size=8).filter(str.strip), min_size=1, max_size=4
)
settings_maps = st.fixed_dictionaries(
    {},
    optional={
        "strategy": st.sampled_from(["match", "lift", "LIFT"]),
        "target": st.sampled_from([e.value for e in Emotion]),
        "size": st.integers(1, 100),
        "steps": st.integers(2, 7),
        "interval": st.floats(0, 1e6),
        "seed_from": st.lists(st.sampled_from(["top", "saved", "recent"]), max_size=3),
        "play": st.booleans(),
        "moods": st.dictionaries(
            st.sampled_from([e.value for e in Emotion]),
            st.fixed_dictionaries({"words": words}),
            max_size=3,
        ),
    },
)


@settings(max_examples=60, deadline=None)
@given(settings_maps)
def test_settings_survive_a_round_trip_through_their_dict(values):
    s = SpotifySettings.from_mapping(values)
    assert SpotifySettings.from_mapping(s.to_dict()) == s


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(list(Emotion)), st.sampled_from(list(Emotion)), st.integers(2, 7))
def test_a_lift_path_starts_at_the_mood_ends_at_the_target_and_closes_in(start, target, steps):
    path = mood_path(start, target, steps)
    assert path[0] is start and path[-1] is target
    assert len(path) == len(set(path)) <= steps
    tx, ty = CIRCUMPLEX[target]
    dist = [((CIRCUMPLEX[m][0] - tx) ** 2 + (CIRCUMPLEX[m][1] - ty) ** 2) ** 0.5 for m in path]
    assert dist[-1] == 0 and all(d < dist[0] or m is start for m, d in zip(path, dist, strict=True))


@given(st.integers(1, 100), st.integers(1, 7))
def test_split_sizes_adds_up_and_is_even(total, parts):
    sizes = split_sizes(total, parts)
    assert sum(sizes) == total and max(sizes) - min(sizes) <= 1


class ScriptedApi:
    """In-process stand-in for WebApi: search pages drawn by hypothesis (duplicates likely)."""

    def __init__(self, pool: list[Track], pages: dict[str, list[list[int]]]):
        self.pool, self.pages = pool, pages

    def search(self, query, *, offset=0, market=None):
        pages = self.pages.get(query, [])
        page = pages[offset // 10] if offset // 10 < len(pages) else []
        items = [
            {
                "uri": self.pool[i].uri,
                "name": self.pool[i].name,
                "artists": [{"name": a} for a in self.pool[i].artists],
            }
            for i in page
        ]
        return {
            "tracks": {"items": items, "next": "more" if offset // 10 + 1 < len(pages) else None}
        }

    def top_tracks(self, **_):
        return {"items": [{"uri": self.pool[0].uri, "name": "x", "artists": [{"name": "A0"}]}]}


@settings(max_examples=60, deadline=None)
@given(
    pool_size=st.integers(1, 30),
    data=st.data(),
    strategy=st.sampled_from(["match", "lift"]),
    size=st.integers(1, 40),
)
def test_a_plan_never_repeats_a_track_or_song_and_never_exceeds_its_size(
    pool_size, data, strategy, size
):
    # a pool where some tracks are the same song (name and artist) under another URI
    pool = [Track(f"spotify:track:t{i}", f"song {i % 7}", (f"A{i % 3}",)) for i in range(pool_size)]
    index = st.integers(0, pool_size - 1)
    base = SpotifySettings(strategy=strategy, size=size, seed_from=["top"], pages=3)
    queries = (
        {q for t in base.moods.values() for q in t.search_queries()}
        | {f'{t.words[0]} artist:"A0"' for t in base.moods.values()}
        | {f'{t.words[0]} artist:"A0"' for t in base.moods.values()}
    )
    pages = {q: data.draw(st.lists(st.lists(index, max_size=10), max_size=3)) for q in queries}
    plan = Planner(base, ScriptedApi(pool, pages)).plan(data.draw(st.sampled_from(list(Emotion))))
    uris = plan.uris
    assert len(uris) == len(set(uris)) <= size
    assert len({t.key for t in plan.tracks}) == len(uris)


def test_mood_target_queries_cycle_genres_and_append_raw_queries():
    t = MoodTarget(
        words=("a", "b", "c"), genres=("g1", "g2"), years="2001", queries=("artist:x", "a")
    )
    assert t.search_queries() == (
        'a genre:"g1" year:2001',
        'b genre:"g2" year:2001',
        'c genre:"g1" year:2001',
        "artist:x",
        "a",
    )
