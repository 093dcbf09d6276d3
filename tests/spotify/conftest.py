"""Fixtures: the fake Spotify on 127.0.0.1, settings pointing at it, a logged-in client."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from moodlens import Emotion, MoodChange

from .fake_spotify import FakeSpotify

pytest.importorskip("spotipy")

FULL_SCOPE = (
    "playlist-modify-private playlist-read-private user-top-read user-library-read "
    "user-read-recently-played user-read-playback-state user-modify-playback-state"
)


@pytest.fixture(scope="session")
def fake_server():
    server = FakeSpotify()
    yield server
    server.close()


@pytest.fixture
def fake(fake_server: FakeSpotify):
    """The fake, reset; after the test, no removed endpoint may have been called."""
    fake_server.reset()
    yield fake_server
    assert fake_server.removed_calls() == [], "a removed endpoint was called"


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the real user's token or config."""
    state = tmp_path / "spotify-state"
    monkeypatch.setenv("MOODLENS_SPOTIFY_DIR", str(state))
    monkeypatch.delenv("SPOTIPY_CLIENT_ID", raising=False)
    monkeypatch.setenv("MOODLENS_CONFIG", str(tmp_path / "no-config.toml"))
    return state


@pytest.fixture
def settings_kwargs(fake: FakeSpotify, tmp_path: Path) -> dict:
    return {
        "client_id": "test-client",
        "api_url": f"{fake.url}/v1/",
        "accounts_url": f"{fake.url}/",
        "cache_dir": str(tmp_path / "spotify-state"),
        "interval": 60,
        "size": 10,
    }


def write_token(
    cache_dir: Path,
    *,
    access: str = "valid-token",
    refresh: str = "refresh-1",
    expires_in: float = 3600,
    scope: str = FULL_SCOPE,
) -> Path:
    path = Path(cache_dir) / "token.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "access_token": access,
                "refresh_token": refresh,
                "token_type": "Bearer",
                "expires_in": expires_in,
                "expires_at": int(time.time() + expires_in),
                "scope": scope,
            }
        )
    )
    path.chmod(0o600)
    return path


@pytest.fixture
def logged_in(settings_kwargs: dict) -> Path:
    return write_token(Path(settings_kwargs["cache_dir"]))


@pytest.fixture
def client(settings_kwargs: dict, logged_in: Path):
    """A spotipy.Spotify as the plugin builds it, aimed at the fake through ``prefix``."""
    from moodlens_spotify import SpotifySettings
    from moodlens_spotify._auth import make_client

    return make_client(SpotifySettings.from_mapping(settings_kwargs))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps() -> list[float]:
    return []


def change(
    current: str | None, previous: str | None = None, *, at: float = 0.0, face_id: int | None = None
) -> MoodChange:
    return MoodChange(
        face_id=face_id,
        previous=Emotion(previous) if previous else None,
        current=Emotion(current) if current else None,
        at=at,
        wall_time=datetime.now(timezone.utc),
        confidence=0.8,
    )
