"""Private by default: no token reaches a log, the Spotify folder is owner-only, one folder
scheme (a token at the old location is still found), and only public moodlens API is used."""

from __future__ import annotations

import ast
import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from moodlens_spotify import SpotifySettings
from moodlens_spotify._auth import TokenFile, write_private
from moodlens_spotify._redact import REDACTED, protect_logs, redact

from .conftest import write_token

PACKAGE = Path(__file__).resolve().parents[2] / "plugins" / "moodlens_spotify"


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        (
            "Headers: {'Authorization': 'Bearer valid-token', 'Content-Type': 'application/json'}",
            "valid-token",
            "'Authorization': 'Bearer [redacted]'",
        ),
        (
            "Body: {'grant_type': 'refresh_token', 'refresh_token': 'refresh-1', 'client_id': 'c'}",
            "refresh-1",
            "'grant_type': 'refresh_token'",
        ),
        ('{"access_token": "tok-1", "token_type": "Bearer"}', "tok-1", '"token_type"'),
        (
            "Body: {'code': 'abc', 'code_verifier': 'v3r1f13r', 'redirect_uri': 'http://x'}",
            "v3r1f13r",
            "'redirect_uri': 'http://x'",
        ),
        ('"GET /callback?code=AQDx-9_secret&state=s1 HTTP/1.1" 200', "AQDx-9_secret", "state=s1"),
        ("grant_type=refresh_token&refresh_token=r-2&client_id=c", "r-2", "client_id=c"),
        ("GET /v1/search?q=happy&market=SE&country_code=SE", None, "country_code=SE"),
    ],
)
def test_redact_removes_tokens_and_keeps_the_rest(text, secret, kept):
    cleaned = redact(text)
    if secret is not None:
        assert secret not in cleaned and REDACTED in cleaned
    else:
        assert cleaned == text
    assert kept in cleaned


def test_protect_logs_rewrites_records_before_handlers_see_them(caplog):
    protect_logs()
    protect_logs()  # safe to repeat: one filter per logger
    logger = logging.getLogger("spotipy.client")
    assert len([f for f in logger.filters if type(f).__name__ == "TokenRedactor"]) == 1
    with caplog.at_level(logging.DEBUG, logger="spotipy.client"):
        logger.debug("Sending GET with Headers: %s", {"Authorization": "Bearer s3cr3t"})
    assert "s3cr3t" not in caplog.text and "Bearer [redacted]" in caplog.text


def test_spotify_verbose_log_has_no_token(fake, tmp_path, settings_kwargs):
    """`moodlens spotify -v` against the fake: a refresh and writes, at DEBUG, no token."""
    config = tmp_path / "config.toml"
    lines = ["[plugins.spotify-playlist]"] + [
        f"{k} = {json.dumps(v)}" for k, v in settings_kwargs.items()
    ]
    config.write_text("\n".join(lines) + "\n")
    token = write_token(Path(settings_kwargs["cache_dir"]))
    fake.expire_tokens()  # the first call gets 401: the refresh token is sent
    env = {**os.environ, "MOODLENS_CONFIG": str(config)}
    out = subprocess.run(
        [sys.executable, "-m", "moodlens", "spotify", "-v", "plan", "happy", "--apply"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert "written to spotify:playlist:" in out.stdout
    log = out.stderr
    # the run really logged requests, headers and the refresh at DEBUG ...
    assert "Sending GET" in log and "Bearer [redacted]" in log
    assert "'refresh_token': '[redacted]'" in log
    assert any(r.path == "/api/token" for r in fake.requests)
    # ... and no token, old or new, reached it
    new = json.loads(token.read_text())
    secrets = {"valid-token", "refresh-1", new["access_token"], new["refresh_token"]}
    assert new["access_token"] != "valid-token"
    leaked = [s for s in secrets if s in log]
    assert leaked == [], f"tokens in the log: {leaked}"


def test_folder_is_made_owner_only_even_when_it_existed(tmp_path):
    folder = tmp_path / "spotify"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    write_private(folder / "token.json", "{}")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "token.json").stat().st_mode) == 0o600


def test_reading_a_token_tightens_an_open_folder(tmp_path):
    path = write_token(tmp_path / "spotify")
    path.parent.chmod(0o755)
    assert TokenFile(path).get_cached_token()["access_token"] == "valid-token"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_default_folder_is_the_platformdirs_config_folder(tmp_path, monkeypatch):
    import moodlens

    monkeypatch.delenv("MOODLENS_SPOTIFY_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert SpotifySettings().state_dir == moodlens.user_config_dir("spotify")
    if sys.platform.startswith("linux"):  # the same place as before on Linux
        assert SpotifySettings().state_dir == tmp_path / "xdg" / "moodlens" / "spotify"


def test_a_token_at_the_old_location_is_moved_and_found(tmp_path, monkeypatch):
    """Where platformdirs differs from the old ~/.config scheme (macOS, Windows)."""
    import moodlens_spotify._config as config

    monkeypatch.delenv("MOODLENS_SPOTIFY_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "old-config"))
    new_home = tmp_path / "Library" / "Application Support" / "moodlens"
    monkeypatch.setattr(config, "user_config_dir", lambda *parts: new_home.joinpath(*parts))
    old = write_token(tmp_path / "old-config" / "moodlens" / "spotify")
    settings = SpotifySettings()
    assert settings.state_dir == new_home / "spotify"
    moved = settings.state_dir / "token.json"
    assert moved.is_file() and not old.exists()
    assert TokenFile(moved).get_cached_token()["refresh_token"] == "refresh-1"


def test_a_token_at_the_old_location_that_cannot_move_is_still_used(tmp_path, monkeypatch):
    import moodlens_spotify._config as config

    monkeypatch.delenv("MOODLENS_SPOTIFY_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "old-config"))
    monkeypatch.setattr(config, "user_config_dir", lambda *parts: tmp_path.joinpath("new", *parts))

    def refuse(legacy, current):
        raise PermissionError("read-only")

    monkeypatch.setattr(config, "adopt_legacy_path", refuse)
    old = write_token(tmp_path / "old-config" / "moodlens" / "spotify")
    assert SpotifySettings().state_dir == old.parent


def test_the_plugin_uses_only_public_moodlens_api():
    private = []
    for source in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "moodlens" and any(p.startswith("_") for p in parts[1:]):
                    private.append(f"{source.name}: {name}")
    assert private == []
