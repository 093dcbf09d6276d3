"""User folders: one platformdirs scheme, private folders owner-only, legacy files adopted."""

from __future__ import annotations

import os
import stat

import moodlens
import pytest


@pytest.mark.parametrize(
    "func", [moodlens.user_config_dir, moodlens.user_data_dir, moodlens.user_cache_dir]
)
def test_folders_are_named_moodlens_and_join_parts(func):
    base = func()
    assert "moodlens" in base.parts
    assert func("a", "b") == base / "a" / "b"


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_private_dir_is_owner_only_even_when_it_existed(tmp_path):
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    os.chmod(loose, 0o755)
    for folder in (tmp_path / "new" / "nested", loose):
        made = moodlens.ensure_private_dir(folder)
        assert stat.S_IMODE(made.stat().st_mode) == 0o700


def test_adopt_legacy_moves_once_and_never_overwrites(tmp_path):
    old, new = tmp_path / "old" / "token.json", tmp_path / "new" / "token.json"
    old.parent.mkdir()
    old.write_text("legacy")
    assert moodlens.adopt_legacy_path(old, new) == new
    assert new.read_text() == "legacy" and not old.exists()
    old.write_text("second")
    moodlens.adopt_legacy_path(old, new)
    assert new.read_text() == "legacy" and old.read_text() == "second"
