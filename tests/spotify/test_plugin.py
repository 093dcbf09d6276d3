"""The plugin against the fake API: scripted mood changes, both strategies, injected faults."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path

import pytest
from moodlens import Emotion, MoodReading, StreamInfo, StreamSummary
from moodlens_spotify import SpotifyAuthError, SpotifyError, SpotifyPlaylistPlugin

from .conftest import change


def reading(t: float) -> MoodReading:
    return MoodReading(
        timestamp=t, wall_time=datetime.now(timezone.utc), frame_index=int(t), faces=(), mood=None
    )


def summary() -> StreamSummary:
    return StreamSummary(
        reason="end", frames=10, duration=10.0, stopped_at=datetime.now(timezone.utc)
    )


@pytest.fixture
def make_plugin(client, settings_kwargs, clock, sleeps):
    def make(**overrides):
        return SpotifyPlaylistPlugin(
            client=client, clock=clock, sleep=sleeps.append, **{**settings_kwargs, **overrides}
        )

    return make


def writes(fake):
    return [(m, p, q, b) for m, p, q, b in fake.api_calls() if m != "GET"]


def searches(fake):
    return [q["q"] for m, p, q, b in fake.api_calls() if p == "/v1/search"]


def test_match_builds_one_private_playlist_from_the_moods_searches(fake, make_plugin):
    plugin = make_plugin(strategy="match", seed_from=[])
    plugin.moodlens_mood_changed(change("happy"))
    assert searches(fake) == [
        'happy genre:"pop" year:1990-2026',
        'feel good genre:"dance" year:1990-2026',
        'sunshine genre:"funk" year:1990-2026',
    ]
    assert all(
        q == {"q": q["q"], "type": "track", "limit": "10", "offset": "0", "market": "from_token"}
        for m, p, q, b in fake.api_calls()
        if p == "/v1/search"
    )
    (create, put) = writes(fake)
    assert create == (
        "POST",
        "/v1/me/playlists",
        {},
        {
            "name": "moodlens",
            "public": False,
            "collaborative": False,
            "description": "Made by moodlens from your steady mood.",
        },
    )
    pid = plugin.playlist_id
    assert put[:3] == ("PUT", f"/v1/playlists/{pid}/items", {})
    uris = put[3]["uris"]
    assert len(uris) == 10 and len(set(uris)) == 10
    assert fake.playlists[pid]["items"] == uris and fake.playlists[pid]["public"] is False
    assert plugin.plans[-1].path == (Emotion.HAPPY,)


def test_the_same_song_on_two_releases_is_used_once(fake, make_plugin):
    from .fake_spotify import SHARED, TWIN_A, TWIN_B

    plugin = make_plugin(seed_from=[], size=30)
    plugin.moodlens_mood_changed(change("happy"))
    uris = writes(fake)[-1][3]["uris"]
    assert uris.count(SHARED["uri"]) == 1
    assert (TWIN_A["uri"] in uris) + (TWIN_B["uri"] in uris) == 1
    assert len(uris) == len(set(uris)) == 30


def test_lift_starts_at_the_current_mood_and_ends_at_the_target(fake, make_plugin):
    plugin = make_plugin(strategy="lift", target="happy", steps=3, size=9, seed_from=[])
    plugin.moodlens_mood_changed(change("sad"))
    plan = plugin.plans[-1]
    assert plan.path == (Emotion.SAD, Emotion.NEUTRAL, Emotion.HAPPY)
    assert [len(s.tracks) for s in plan.stages] == [3, 3, 3]
    uris = writes(fake)[-1][3]["uris"]
    assert uris == plan.uris
    assert [s.tracks[0].uri for s in plan.stages] == [uris[0], uris[3], uris[6]]
    # each stage's tracks come from that mood's searches, in order
    assert all(
        "sad" in t.name or "melancholy" in t.name or "heartbreak" in t.name
        for t in plan.stages[0].tracks
    )
    assert all(
        any(w in t.name for w in ("happy", "feel good", "sunshine")) for t in plan.stages[2].tracks
    )
    assert searches(fake)[0].startswith("sad ") and searches(fake)[-1].startswith("sunshine ")


def test_top_tracks_seed_artist_searches_and_rank_first(fake, make_plugin):
    plugin = make_plugin(seed_from=["top"], seed_artists=1, size=5)
    plugin.moodlens_mood_changed(change("sad"))
    calls = fake.api_calls()
    assert calls[0] == (
        "GET",
        "/v1/me/top/tracks",
        {"time_range": "short_term", "limit": "50"},
        None,
    )
    assert 'sad artist:"Robyn"' in searches(fake)
    first = plugin.plans[-1].tracks[0]
    assert first.artists == ("Robyn",)


def test_the_users_own_uris_come_first(fake, make_plugin):
    from .fake_spotify import TOP

    pid = fake.own_playlist("my sad songs", TOP[2:4])
    moods = {"sad": {"uris": ["spotify:track:mine1", f"spotify:playlist:{pid}"]}}
    plugin = make_plugin(seed_from=[], moods=moods, size=4)
    plugin.moodlens_mood_changed(change("sad"))
    assert (
        "GET",
        f"/v1/playlists/{pid}/items",
        {"limit": "50", "offset": "0"},
        None,
    ) in fake.api_calls()
    assert plugin.plans[-1].uris[:3] == ["spotify:track:mine1", TOP[2]["uri"], TOP[3]["uri"]]


def test_scripted_run_acts_on_scene_changes_at_most_once_per_interval(fake, make_plugin):
    plugin = make_plugin(interval=60, seed_from=[], apply_on_stop=False)
    plugin.moodlens_stream_started(StreamInfo("frames", datetime.now(timezone.utc)))
    plugin.moodlens_mood_changed(change("happy", at=1.0))  # first mood: applied
    plugin.moodlens_mood_changed(change("sad", "happy", at=5.0, face_id=3))  # a face, not the scene
    plugin.moodlens_mood_changed(change(None, "happy", at=6.0))  # scene emptied: kept as is
    plugin.moodlens_mood_changed(change("sad", "happy", at=20.0))  # too soon: waits
    plugin.moodlens_mood_changed(change("angry", "sad", at=30.0))  # newest waiting mood wins
    plugin.moodlens_reading(reading(40.0))
    assert [p.mood for p in plugin.plans] == [Emotion.HAPPY]
    assert plugin.pending.current is Emotion.ANGRY
    plugin.moodlens_reading(reading(61.5))  # interval passed
    assert [p.mood for p in plugin.plans] == [Emotion.HAPPY, Emotion.ANGRY]
    plugin.moodlens_mood_changed(change("happy", "angry", at=70.0))
    plugin.moodlens_mood_changed(change("angry", "happy", at=80.0))  # back to the applied mood
    plugin.moodlens_reading(reading(200.0))
    plugin.moodlens_stream_stopped(summary())
    puts = [c for c in writes(fake) if c[0] == "PUT"]
    creates = [c for c in writes(fake) if c[1] == "/v1/me/playlists"]
    assert len(creates) == 1 and len(puts) == 2
    assert {c[1] for c in puts} == {f"/v1/playlists/{plugin.playlist_id}/items"}


def test_a_mood_waiting_for_the_interval_is_applied_at_stop(fake, make_plugin):
    plugin = make_plugin(interval=300, seed_from=[])
    plugin.moodlens_mood_changed(change("happy", at=1.0))
    plugin.moodlens_mood_changed(change("sad", "happy", at=10.0))
    assert len(plugin.plans) == 1
    plugin.moodlens_stream_stopped(summary())
    assert [p.mood for p in plugin.plans] == [Emotion.HAPPY, Emotion.SAD]
    assert plugin.pending is None


def test_the_playlist_is_reused_across_runs_and_recreated_if_deleted(
    fake, make_plugin, settings_kwargs
):
    first = make_plugin(seed_from=[])
    first.moodlens_mood_changed(change("happy"))
    state = json.loads((Path(settings_kwargs["cache_dir"]) / "playlist.json").read_text())
    assert state == {"playlists": {"moodlens": first.playlist_id}}
    assert (Path(settings_kwargs["cache_dir"]) / "playlist.json").stat().st_mode & 0o077 == 0
    second = make_plugin(seed_from=[])
    second.moodlens_mood_changed(change("sad"))
    assert second.playlist_id == first.playlist_id
    assert len([c for c in writes(fake) if c[1] == "/v1/me/playlists"]) == 1
    del fake.playlists[first.playlist_id]  # the user deleted it in Spotify
    third = make_plugin(seed_from=[])
    third.moodlens_mood_changed(change("angry"))
    assert third.playlist_id != first.playlist_id
    assert fake.playlists[third.playlist_id]["items"] == third.plans[-1].uris


@pytest.mark.parametrize(
    ("path", "status", "extra"),
    [
        ("/v1/search", 503, {"times": 5}),
        ("/v1/me/playlists", 500, {"times": 5}),
        ("/v1/playlists/.*/items", 502, {"times": 5}),
        ("/v1/search", 200, {"times": 5, "body": "{oops"}),
        ("/v1/search", 429, {"retry_after": 3600}),
        ("/v1/me/playlists", 429, {"retry_after": 120}),
    ],
)
def test_faults_defer_the_mood_without_blocking_or_losing_it(
    fake, make_plugin, clock, sleeps, path, status, extra
):
    plugin = make_plugin(seed_from=[])
    fake.fail(path, status, **extra)
    plugin.moodlens_mood_changed(change("sad", at=1.0))  # must not raise
    assert plugin.plans == () and plugin.pending.current is Emotion.SAD
    assert sum(sleeps) <= 2 * 2.0  # bounded in-call waiting, never the Retry-After
    calls_before = len(fake.requests)
    plugin.moodlens_reading(reading(2.0))  # too early: nothing is sent
    assert len(fake.requests) == calls_before
    clock.now += extra.get("retry_after", 5) + 1
    fake.faults.clear()
    plugin.moodlens_reading(reading(3.0))
    assert [p.mood for p in plugin.plans] == [Emotion.SAD] and plugin.pending is None
    created = [r for r in fake.requests if r.path == "/v1/me/playlists" and r.status == 201]
    assert len(created) == 1 and len(fake.playlists) == 1  # never a second playlist


def test_repeated_failures_back_off_longer_each_time(fake, make_plugin, clock):
    plugin = make_plugin(seed_from=[])
    fake.fail("/v1/search", 503, times=1000)
    waits = []
    plugin.moodlens_mood_changed(change("sad"))
    for _ in range(4):
        waits.append(plugin._not_before - clock.now)
        clock.now = plugin._not_before
        plugin.moodlens_reading(reading(1.0))
    assert waits == [5.0, 10.0, 20.0, 40.0]


def test_expired_login_is_refreshed_during_a_run(fake, make_plugin):
    plugin = make_plugin(seed_from=[])
    fake.expire_tokens()
    plugin.moodlens_mood_changed(change("happy"))
    assert len(plugin.plans) == 1
    assert [r.path for r in fake.requests].count("/api/token") == 1


def test_a_revoked_login_is_logged_and_the_mood_kept(fake, make_plugin, caplog):
    plugin = make_plugin(seed_from=[])
    fake.expire_tokens()
    fake.refresh_tokens.clear()
    with caplog.at_level(logging.ERROR, logger="moodlens_spotify"):
        plugin.moodlens_mood_changed(change("happy"))
    assert plugin.pending is not None and "moodlens spotify login" in caplog.text


def test_playback_starts_on_the_active_device_for_premium(fake, make_plugin):
    plugin = make_plugin(seed_from=[], play=True)
    plugin.moodlens_mood_changed(change("happy"))
    assert fake.api_calls()[-3:] == [
        ("GET", "/v1/me", {}, None),
        ("GET", "/v1/me/player/devices", {}, None),
        (
            "PUT",
            "/v1/me/player/play",
            {"device_id": "dev-1"},
            {"context_uri": f"spotify:playlist:{plugin.playlist_id}", "offset": {"position": 0}},
        ),
    ]


@pytest.mark.parametrize("situation", ["free account", "no active device"])
def test_playback_is_skipped_without_premium_or_device(fake, make_plugin, situation):
    if situation == "free account":
        fake.user["product"] = "free"
    else:
        fake.devices = [{**fake.devices[0], "is_active": False}]
    plugin = make_plugin(seed_from=[], play=True)
    plugin.moodlens_mood_changed(change("happy"))
    assert len(plugin.plans) == 1
    assert not any(p == "/v1/me/player/play" for m, p, q, b in fake.api_calls())


def test_dry_run_with_a_client_reads_but_never_writes(fake, make_plugin, caplog):
    plugin = make_plugin(dry_run=True, seed_from=["top", "saved", "recent"])
    with caplog.at_level(logging.INFO, logger="moodlens_spotify"):
        plugin.moodlens_mood_changed(change("sad"))
    assert writes(fake) == []
    assert {p for m, p, q, b in fake.api_calls()} == {
        "/v1/me/top/tracks",
        "/v1/me/tracks",
        "/v1/me/player/recently-played",
        "/v1/search",
    }
    assert "dry run, nothing written" in caplog.text and len(plugin.plans[-1].tracks) == 10


def test_dry_run_without_a_client_needs_no_account(caplog, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "spotipy", None)  # not even spotipy
    plugin = SpotifyPlaylistPlugin(
        dry_run=True, strategy="lift", moods={"sad": {"uris": ["spotify:track:abc"]}}
    )
    with caplog.at_level(logging.INFO, logger="moodlens_spotify"):
        plugin.moodlens_mood_changed(change("sad"))
        plugin.moodlens_stream_stopped(summary())
    text = plugin.plans[-1].describe()
    assert text.splitlines()[0] == (
        "playlist 'moodlens' (private) for mood sad, strategy lift: "
        "sad -> neutral -> happy; 1 tracks"
    )
    assert 'would search: sad genre:"indie" year:1990-2026' in text
    assert "1. spotify:track:abc" in text
    assert text in caplog.text


def test_without_login_the_plugin_says_to_log_in(settings_kwargs):
    with pytest.raises(SpotifyAuthError, match="moodlens spotify login"):
        SpotifyPlaylistPlugin(**settings_kwargs)


def test_without_spotipy_a_real_run_names_the_pip_command(monkeypatch, settings_kwargs):
    from moodlens import MissingDependencyError

    monkeypatch.setitem(__import__("sys").modules, "spotipy", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'moodlens\[spotify\]'"):
        SpotifyPlaylistPlugin(**settings_kwargs)


def test_unknown_settings_are_refused_with_the_known_ones():
    with pytest.raises(SpotifyError, match="unknown Spotify setting.*playlist_nam.*known: "):
        SpotifyPlaylistPlugin(dry_run=True, playlist_nam="x")


def test_close_is_safe_twice(make_plugin):
    plugin = make_plugin()
    plugin.close()
    plugin.close()
