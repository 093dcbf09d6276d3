"""Private by default: the journal's folder is owner-only (0700), its files 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import moodlens
import platformdirs
import pytest
import sqlalchemy as sa
from alembic import command
from moodlens_journal import Journal, JournalPlugin, default_journal_path
from moodlens_journal._db import alembic_config

from .conftest import feed

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask():
    """The usual umask (022), which gives 0755 folders and 0644 files unless asked."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def data_home(tmp_path, monkeypatch) -> Path:
    """The user's data folder (XDG_DATA_HOME) in a temporary folder; no journal URL set."""
    home = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.delenv("MOODLENS_JOURNAL_URL", raising=False)
    return home


def _files(path: Path) -> dict[str, int]:
    return {p.name: mode(p) for p in sorted(path.parent.iterdir()) if p.is_file()}


def test_a_new_journal_and_its_folders_are_owner_only(tmp_path):
    path = tmp_path / "a" / "b" / "journal.db"
    with Journal(path) as journal:
        journal.add_entry(4, "private")
        # While open in WAL mode, the -wal and -shm files exist: they hold the same data.
        files = _files(path)
        assert {"journal.db", "journal.db-wal", "journal.db-shm"} <= set(files)
        assert files == dict.fromkeys(files, 0o600)
    assert mode(tmp_path / "a") == 0o700 and mode(tmp_path / "a" / "b") == 0o700


def test_the_plugin_writes_owner_only_files(tmp_path):
    from datetime import datetime, timezone

    path = tmp_path / "new" / "journal.db"
    with JournalPlugin(path) as plugin:
        feed(plugin, datetime.now(timezone.utc), [("happy", 2.0)])
        plugin.flush()
        files = _files(path)
        assert files and files == dict.fromkeys(files, 0o600)
    assert mode(path.parent) == 0o700


def test_the_default_folder_is_made_owner_only_even_when_it_existed(data_home):
    folder = data_home / "moodlens"
    folder.mkdir(parents=True, mode=0o755)
    assert mode(folder) == 0o755
    assert default_journal_path() == folder / "journal.db"
    with Journal() as journal:
        journal.add_entry(3)
        assert journal.path == folder / "journal.db"
    assert mode(folder) == 0o700
    files = _files(folder / "journal.db")
    assert files == dict.fromkeys(files, 0o600)


def test_a_folder_the_user_chose_that_exists_is_left_as_it_is(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    with Journal(shared / "journal.db") as journal:
        journal.add_entry(3)
    assert mode(shared) == 0o755  # not ours to change; the journal's files still are private
    assert mode(shared / "journal.db") == 0o600


def test_an_older_world_readable_journal_and_its_backups_are_tightened(tmp_path):
    path = tmp_path / "journal.db"
    with Journal(path) as journal:
        journal.add_entry(5, "before")
    for p in (path, tmp_path / "journal.db.schema-0001.20240101T000000.bak"):
        p.touch()
        os.chmod(p, 0o644)
    with Journal(path) as journal:
        assert [e.note for e in journal.entries()] == ["before"]
    files = _files(path)
    assert len(files) >= 2 and files == dict.fromkeys(files, 0o600)


def test_the_backup_before_an_upgrade_is_owner_only(tmp_path):
    path = tmp_path / "journal.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
    engine.dispose()
    os.chmod(path, 0o644)  # as an older moodlens left it
    with Journal(path):
        pass
    (backup,) = tmp_path.glob("journal.db.schema-0001.*.bak")
    assert mode(backup) == 0o600 and mode(path) == 0o600


def test_a_journal_at_the_old_default_location_is_found(data_home):
    # Every earlier release kept the journal at platformdirs' user data path; the shared
    # moodlens data folder is the same place on every platform, so it is used as it is.
    old = Path(platformdirs.user_data_path("moodlens", appauthor=False)) / "journal.db"
    assert old == moodlens.user_data_dir("journal.db") == default_journal_path()
    with Journal(old) as journal:
        journal.add_entry(4, "written by an older moodlens")
    with Journal() as journal:
        assert [e.note for e in journal.entries()] == ["written by an older moodlens"]
