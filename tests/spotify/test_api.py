"""The Web API boundary: exact requests, bounded retries, 401 refresh, 429 deferral, bad JSON."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from moodlens_spotify import RateLimitedError, SpotifyApiError, SpotifyAuthError, SpotifySettings
from moodlens_spotify._api import WebApi
from moodlens_spotify._auth import make_client

from .conftest import write_token


@pytest.fixture
def api(client, sleeps):
    return WebApi(client, max_attempts=3, max_wait=2.0, sleep=sleeps.append)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda a: a.me(), ("GET", "/v1/me", {}, None)),
        (
            lambda a: a.search('sad genre:"indie"', offset=10, market="from_token"),
            (
                "GET",
                "/v1/search",
                {
                    "q": 'sad genre:"indie"',
                    "type": "track",
                    "limit": "10",
                    "offset": "10",
                    "market": "from_token",
                },
                None,
            ),
        ),
        (
            lambda a: a.search("x"),
            ("GET", "/v1/search", {"q": "x", "type": "track", "limit": "10", "offset": "0"}, None),
        ),
        (
            lambda a: a.top_tracks(),
            ("GET", "/v1/me/top/tracks", {"time_range": "short_term", "limit": "50"}, None),
        ),
        (lambda a: a.saved_tracks(), ("GET", "/v1/me/tracks", {"limit": "50"}, None)),
        (
            lambda a: a.recently_played(),
            ("GET", "/v1/me/player/recently-played", {"limit": "50"}, None),
        ),
        (
            lambda a: a.create_playlist("moodlens", "d"),
            (
                "POST",
                "/v1/me/playlists",
                {},
                {"name": "moodlens", "public": False, "collaborative": False, "description": "d"},
            ),
        ),
        (lambda a: a.devices(), ("GET", "/v1/me/player/devices", {}, None)),
        (
            lambda a: a.play("spotify:playlist:abc", "dev-1"),
            (
                "PUT",
                "/v1/me/player/play",
                {"device_id": "dev-1"},
                {"context_uri": "spotify:playlist:abc", "offset": {"position": 0}},
            ),
        ),
    ],
)
def test_each_endpoint_sends_exactly_this_request(fake, api, call, expected):
    call(api)
    assert fake.api_calls() == [expected]


def test_replace_items_puts_the_uris_on_the_items_path_never_tracks(fake, api):
    pid = fake.own_playlist("mine", [])
    uris = ["spotify:track:a1", "spotify:track:b2"]
    api.replace_items(pid, uris)
    assert fake.api_calls() == [("PUT", f"/v1/playlists/{pid}/items", {}, {"uris": uris})]
    assert fake.playlists[pid]["items"] == uris


def test_playlist_items_reads_the_items_path(fake, api):
    from .fake_spotify import TOP

    pid = fake.own_playlist("mine", TOP[:2])
    page = api.playlist_items(pid)
    assert fake.api_calls() == [
        ("GET", f"/v1/playlists/{pid}/items", {"limit": "50", "offset": "0"}, None)
    ]
    assert [i["item"]["uri"] for i in page["items"]] == [t["uri"] for t in TOP[:2]]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_is_retried_with_capped_backoff(fake, api, sleeps, status):
    fake.fail("/v1/me", status, times=2)
    assert api.me()["id"] == "testuser"
    assert len(fake.api_calls()) == 3
    assert sleeps == [0.25, 0.5]


def test_server_errors_give_up_after_max_attempts_as_a_transient_error(fake, api, sleeps):
    fake.fail("/v1/me", 503, times=10)
    with pytest.raises(SpotifyApiError) as info:
        api.me()
    assert info.value.transient and info.value.status == 503
    assert len(fake.api_calls()) == 3
    assert len(sleeps) == 2 and all(0 < s <= 2.0 for s in sleeps)


def test_backoff_never_waits_longer_than_max_wait(fake, client, sleeps):
    api = WebApi(client, max_attempts=5, max_wait=0.6, sleep=sleeps.append)
    fake.fail("/v1/me", 500, times=10)
    with pytest.raises(SpotifyApiError):
        api.me()
    assert sleeps == [0.25, 0.5, 0.6, 0.6]
    assert sum(sleeps) <= 4 * 0.6


@pytest.mark.parametrize("body", ["{not json", "<html>502 Bad Gateway</html>", ""])
def test_malformed_json_is_retried_then_reported(fake, api, sleeps, body):
    fake.fail("/v1/me", 200, times=1, body=body)
    assert api.me()["id"] == "testuser"
    fake.fail("/v1/me", 200, times=5, body=body)
    with pytest.raises(SpotifyApiError, match="malformed") as info:
        api.me()
    assert info.value.transient


def test_a_short_retry_after_is_waited_for(fake, api, sleeps):
    fake.fail("/v1/search", 429, retry_after=1)
    api.search("x")
    assert sleeps == [1.0]
    assert len(fake.api_calls()) == 2


def test_a_long_retry_after_is_not_slept_but_raised_at_once(fake, api, sleeps):
    fake.fail("/v1/search", 429, retry_after=7200)
    with pytest.raises(RateLimitedError) as info:
        api.search("x")
    assert info.value.retry_after == 7200 and info.value.transient
    assert sleeps == [] and len(fake.api_calls()) == 1


def test_a_client_with_spotipys_default_retries_is_made_safe(
    fake, settings_kwargs, logged_in, sleeps
):
    """spotipy's default session sleeps out Retry-After in urllib3; the boundary turns it off."""
    import spotipy

    settings = SpotifySettings.from_mapping(settings_kwargs)
    from moodlens_spotify._auth import make_auth_manager

    client = spotipy.Spotify(auth_manager=make_auth_manager(settings))  # default: 3 status retries
    client.prefix = settings.api_url
    api = WebApi(client, sleep=sleeps.append)
    fake.fail("/v1/me", 429, retry_after=3600, times=5)
    with pytest.raises(RateLimitedError) as info:
        api.me()
    assert info.value.retry_after == 3600
    assert len(fake.api_calls()) == 1


def test_401_refreshes_the_token_once_and_retries(fake, api):
    fake.expire_tokens()
    assert api.me()["id"] == "testuser"
    calls = [(r.method, r.path, r.status) for r in fake.requests]
    assert calls == [("GET", "/v1/me", 401), ("POST", "/api/token", 200), ("GET", "/v1/me", 200)]
    token_form = fake.requests[1].body
    assert token_form == {
        "grant_type": "refresh_token",
        "refresh_token": "refresh-1",
        "client_id": "test-client",
    }


def test_a_revoked_refresh_token_is_an_auth_error_saying_to_log_in(fake, api):
    fake.expire_tokens()
    fake.refresh_tokens.clear()
    with pytest.raises(SpotifyAuthError, match="moodlens spotify login"):
        api.me()


def test_an_expired_cached_token_is_refreshed_before_the_call(fake, settings_kwargs):
    write_token(Path(settings_kwargs["cache_dir"]), access="old", expires_in=-10)
    api = WebApi(make_client(SpotifySettings.from_mapping(settings_kwargs)), sleep=lambda s: None)
    assert api.me()["id"] == "testuser"
    assert [(r.method, r.path) for r in fake.requests] == [
        ("POST", "/api/token"),
        ("GET", "/v1/me"),
    ]


def test_a_client_error_is_not_retried(fake, api, sleeps):
    with pytest.raises(SpotifyApiError) as info:
        api.replace_items("doesnotexist", ["spotify:track:a"])
    assert info.value.status == 404 and not info.value.transient
    assert sleeps == [] and len(fake.api_calls()) == 1


def test_network_down_is_a_transient_error_after_bounded_tries(settings_kwargs, logged_in, sleeps):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    settings = SpotifySettings.from_mapping(
        {**settings_kwargs, "api_url": f"http://127.0.0.1:{port}/v1/", "timeout": 1}
    )
    api = WebApi(make_client(settings), max_attempts=2, max_wait=0.5, sleep=sleeps.append)
    with pytest.raises(SpotifyApiError, match="network error") as info:
        api.me()
    assert info.value.transient and info.value.status is None
    assert sleeps == [0.25]
