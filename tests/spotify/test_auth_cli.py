"""PKCE login against the fake accounts service, the owner-only token cache, and the CLI."""

from __future__ import annotations

import json
import socket
import stat
import threading
from pathlib import Path

import pytest
import requests
from moodlens_spotify import SpotifyAuthError, SpotifyError, SpotifySettings
from moodlens_spotify._auth import TokenFile, login
from moodlens_spotify._cli import main

from .conftest import write_token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """Follows the authorize URL like a browser would, from another thread."""

    def __init__(self, tamper_state: bool = False):
        self.urls: list[str] = []
        self.tamper_state = tamper_state

    def __call__(self, url: str) -> None:
        self.urls.append(url)

        def visit() -> None:
            r = requests.get(url, allow_redirects=False, timeout=5)
            target = r.headers["Location"]
            if self.tamper_state:
                target = target.replace("state=", "state=forged")
            requests.get(target, timeout=5)

        threading.Thread(target=visit, daemon=True).start()


@pytest.fixture
def login_settings(settings_kwargs) -> SpotifySettings:
    return SpotifySettings.from_mapping(
        {**settings_kwargs, "redirect_uri": f"http://127.0.0.1:{free_port()}/callback"}
    )


def test_login_runs_pkce_and_caches_the_token_owner_only(fake, login_settings):
    browser = Browser()
    token = login(login_settings, open_url=browser, timeout=10)
    (url,) = browser.urls
    assert url.startswith(f"{fake.url}/authorize?")
    auth = next(r for r in fake.requests if r.path == "/authorize").query
    assert auth["client_id"] == "test-client" and auth["response_type"] == "code"
    assert (
        auth["code_challenge_method"] == "S256"
        and auth["redirect_uri"] == login_settings.redirect_uri
    )
    assert auth["scope"] == "playlist-modify-private user-top-read" and len(auth["state"]) >= 16
    exchange = next(r for r in fake.requests if r.path == "/api/token").body
    assert set(exchange) == {"client_id", "grant_type", "code", "redirect_uri", "code_verifier"}
    assert "client_secret" not in exchange  # a consumer app has none
    path = login_settings.state_dir / "token.json"
    assert json.loads(path.read_text())["access_token"] == token["access_token"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_login_refuses_a_forged_state(fake, login_settings):
    with pytest.raises(SpotifyAuthError, match="state did not match"):
        login(login_settings, open_url=Browser(tamper_state=True), timeout=10)
    assert not (login_settings.state_dir / "token.json").exists()


def test_login_gives_up_after_its_timeout(fake, login_settings):
    with pytest.raises(SpotifyAuthError, match="no answer from Spotify"):
        login(login_settings, open_url=lambda url: None, timeout=0.3)


@pytest.mark.parametrize(
    "uri",
    [
        "http://localhost:8888/callback",
        "https://127.0.0.1:8888/cb",
        "http://127.0.0.1/callback",
        "http://example.com:8888/callback",
    ],
)
def test_login_refuses_redirect_uris_spotify_would_refuse(fake, settings_kwargs, uri):
    settings = SpotifySettings.from_mapping({**settings_kwargs, "redirect_uri": uri})
    with pytest.raises(SpotifyError, match="127.0.0.1"):
        login(settings, open_url=lambda url: None, timeout=1)


def test_login_without_a_client_id_says_where_to_get_one(settings_kwargs):
    settings = SpotifySettings.from_mapping({**settings_kwargs, "client_id": None})
    with pytest.raises(SpotifyAuthError, match="developer.spotify.com/dashboard"):
        login(settings, open_url=lambda url: None, timeout=1)


def test_token_file_tightens_a_cache_left_readable_by_others(tmp_path):
    path = tmp_path / "token.json"
    path.write_text('{"access_token": "x"}')
    path.chmod(0o644)
    assert TokenFile(path).get_cached_token() == {"access_token": "x"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    TokenFile(path).save_token_to_cache({"access_token": "y"})
    assert (
        stat.S_IMODE(path.stat().st_mode) == 0o600
        and json.loads(path.read_text())["access_token"] == "y"
    )


@pytest.fixture
def config_file(tmp_path, settings_kwargs, monkeypatch) -> Path:
    lines = ["[plugins.spotify-playlist]"] + [
        f"{k} = {json.dumps(v)}" for k, v in settings_kwargs.items()
    ]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("MOODLENS_CONFIG", str(path))
    return path


def test_cli_login_status_and_logout(fake, config_file, capsys, monkeypatch):
    port = free_port()
    browser = Browser()
    monkeypatch.setattr("webbrowser.open", browser)
    assert (
        main(["login", "--redirect-uri", f"http://127.0.0.1:{port}/callback", "--timeout", "10"])
        == 0
    )
    out = capsys.readouterr().out
    assert "Logged in as Test User (premium account)" in out and "token.json" in out
    assert out.index("Open this address") < out.index("Waiting for Spotify to redirect")
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "mode 600" in out and "valid for" in out and "TOO OPEN" not in out
    assert main(["logout"]) == 0
    assert "Logged out" in capsys.readouterr().out
    assert main(["status"]) == 0
    assert "run `moodlens spotify login`" in capsys.readouterr().out


def test_cli_plan_prints_the_playlist_it_would_build(fake, config_file, settings_kwargs, capsys):
    write_token(Path(settings_kwargs["cache_dir"]))
    assert main(["plan", "sad", "--strategy", "lift", "--size", "6"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "playlist 'moodlens' (private) for mood sad, strategy lift: sad -> neutral -> happy; 6 tracks"
    )
    assert all(m == "GET" for m, *_ in fake.api_calls())
    assert main(["plan", "happy", "--apply", "--size", "3"]) == 0
    assert "written to spotify:playlist:" in capsys.readouterr().out
    assert [m for m, *_ in fake.api_calls() if m != "GET"] == ["POST", "PUT"]


def test_cli_plan_offline_lists_the_searches(config_file, capsys):
    assert main(["plan", "neutral", "--offline"]) == 0
    assert 'would search: chill genre:"lo-fi" year:1990-2026' in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        # invalid values: usage errors, exit 2 with the usage line
        (["plan", "bored"], 2, "unknown emotion"),
        (["plan", "sad", "--strategy", "lift", "--target", "x"], 2, "unknown emotion 'x'"),
        (["plan", "sad", "--size", "0"], 2, "must be from 1 to 100"),
        (["plan", "sad", "--size", "lots"], 2, "not a whole number"),
        (["login", "--timeout", "0"], 2, "must be more than 0"),
        (["frobnicate"], 2, "invalid choice"),
        # failures while running: exit 1 with what to do
        (["plan", "sad", "--apply"], 1, "--apply needs a login"),
    ],
)
def test_cli_errors_say_what_to_do(config_file, capsys, argv, code, message):
    try:
        got = main(argv)
    except SystemExit as exc:
        got = exc.code
    assert got == code
    err = capsys.readouterr().err
    assert message in err
    if code == 2:
        assert "usage: moodlens spotify" in err


def test_cli_version(capsys):
    from moodlens import __version__

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"moodlens spotify {__version__}"


def test_cli_config_prints_the_effective_defaults(config_file, capsys):
    assert main(["config"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["strategy"] == "match" and data["moods"]["happy"]["genres"] == [
        "pop",
        "dance",
        "funk",
    ]


def test_moodlens_cli_delegates_to_the_spotify_cli(config_file, capsys):
    from moodlens._cli import main as moodlens_main

    assert moodlens_main(["spotify", "plan", "happy", "--offline"]) == 0
    assert "strategy match: happy" in capsys.readouterr().out


def test_cli_login_without_a_client_id_fails_before_waiting(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SPOTIPY_CLIENT_ID", raising=False)
    monkeypatch.setenv("MOODLENS_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("MOODLENS_SPOTIFY_DIR", str(tmp_path / "state"))
    monkeypatch.setattr("webbrowser.open", lambda url: pytest.fail("no browser without an app"))
    assert main(["login", "--timeout", "1"]) == 1
    out, err = capsys.readouterr()
    assert "no Spotify client ID" in err and "--client-id" in err
    assert "Waiting" not in out  # it is not waiting for anything
