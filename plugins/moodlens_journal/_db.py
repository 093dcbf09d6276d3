"""Opening a journal database: where it lives, engine settings, checks and upgrades.

SQLite files get WAL mode (readers never wait for the writer), foreign keys,
a generous busy timeout and ``BEGIN IMMEDIATE`` transactions, so several
processes can write one file without "database is locked" failures. Before an
older SQLite journal is upgraded it is copied next to itself.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from moodlens import MissingDependencyError, ensure_private_dir, user_data_dir
from sqlalchemy import event, exc, inspect
from sqlalchemy.engine import URL, Connection, Engine, create_engine, make_url

from ._errors import (
    JournalCorruptError,
    JournalError,
    JournalNotFoundError,
    JournalReadOnlyError,
    JournalUnavailableError,
    JournalVersionError,
)
from ._models import Base

logger = logging.getLogger(__name__)

ENV_URL = "MOODLENS_JOURNAL_URL"
_SQLITE_HEADER = b"SQLite format 3\x00"
_BUSY_TIMEOUT_MS = 30_000
_PG_LOCK_KEY = 0x6D6F6F64  # "mood": serialises concurrent upgrades on one server
_OUR_TABLES = {t.name for t in Base.metadata.sorted_tables} | {"alembic_version"}


def default_journal_path() -> Path:
    """The default journal file: ``journal.db`` in the user's moodlens data folder.

    That is ``moodlens.user_data_dir()`` (``~/.local/share/moodlens`` on Linux), the
    folder every earlier release used too, so an existing journal is found where it is.
    """
    return user_data_dir("journal.db")


def resolve_url(url: str | os.PathLike[str] | URL | None) -> URL:
    """The SQLAlchemy URL for a URL, a file path, or None (``$MOODLENS_JOURNAL_URL`` or the
    default file).

    Raises:
        JournalError: the text is neither a database URL nor a file path.
    """
    if url is None:
        url = os.environ.get(ENV_URL) or default_journal_path()
    if isinstance(url, URL):
        parsed = url
    elif isinstance(url, os.PathLike) or "://" not in str(url):
        text = str(os.fspath(url)).strip()
        if not text:
            raise JournalError("the journal location is empty; give a file path or a database URL")
        return URL.create("sqlite", database=str(Path(text).expanduser()))
    else:
        try:
            parsed = make_url(str(url))
        except (exc.ArgumentError, ValueError) as e:  # ValueError: a port that is no number
            raise JournalError(
                f"{url!r} is not a database URL; use a file path or a URL such as "
                "sqlite:///path/journal.db or postgresql+psycopg://user@host/dbname"
            ) from e
    if parsed.drivername == "postgresql":  # psycopg 3 is what the journal extra installs
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


@dataclass(frozen=True)
class _FileState:
    read_only: bool
    exists: bool


# Journal files hold a person's moods and notes: owner-only, like the folder they are in.
_PRIVATE_FILE = 0o600
_PRIVATE_DIR = 0o700
_COMPANIONS = ("-wal", "-shm", "-journal")


def _tighten(path: Path) -> None:
    """Takes group and other permissions off an existing journal file (POSIX only)."""
    if os.name != "posix":
        return
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, mode & 0o700)
            logger.info("journal file %s was mode %o; now owner-only", path, mode)
    except FileNotFoundError:
        pass
    except OSError as e:
        logger.warning("cannot make %s owner-only (%s); check its permissions", path, e)


def make_files_private(path: Path) -> None:
    """Makes the journal file, its -wal/-shm files and its backups owner-only (0600)."""
    _tighten(path)
    for suffix in _COMPANIONS:
        _tighten(path.with_name(path.name + suffix))
    for backup in path.parent.glob(glob.escape(path.name) + ".schema-*.bak"):
        _tighten(backup)


def _make_private_folder(folder: Path) -> None:
    """Creates the journal's folder owner-only (0700), and every missing folder above it.

    The moodlens data folder is made owner-only even when it already existed; a folder
    the user chose that already exists is left as it is (it may be shared on purpose).

    Raises:
        JournalReadOnlyError: a folder cannot be created.
    """
    try:
        if folder == user_data_dir():
            ensure_private_dir(folder)
            return
        missing = []
        for parent in (folder, *folder.parents):
            if parent.exists():
                break
            missing.append(parent)
        for parent in reversed(missing):
            parent.mkdir(mode=_PRIVATE_DIR, exist_ok=True)
            if os.name == "posix":
                os.chmod(parent, _PRIVATE_DIR)  # mkdir's mode is filtered by the umask
    except OSError as e:
        raise JournalReadOnlyError(
            f"cannot create the folder {folder} for the journal ({e.strerror or e}); "
            "give a path in a folder you can write"
        ) from e


def _create_private_file(path: Path) -> None:
    """Creates an empty file owner-only, so SQLite gives its -wal and -shm files the same
    mode (it copies the database file's permissions to them)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE_FILE)
    except FileExistsError:  # another process was first; it is checked like any file
        return
    try:
        if os.name == "posix":
            os.fchmod(fd, _PRIVATE_FILE)
    finally:
        os.close(fd)


def _check_sqlite_file(path: Path, *, create: bool) -> _FileState:
    """Refuses what is certainly not a journal before SQLite touches it; keeps it private."""
    if path.is_dir():
        raise JournalCorruptError(f"{path} is a folder, not a journal file; give a file path")
    if path.exists():
        try:
            with path.open("rb") as f:
                head = f.read(len(_SQLITE_HEADER))
        except PermissionError as e:
            raise JournalReadOnlyError(
                f"the journal {path} cannot be read ({e.strerror}); check its permissions"
            ) from e
        if head and head != _SQLITE_HEADER:
            raise JournalCorruptError(
                f"{path} is not an SQLite database, so not a moodlens journal; it was left "
                f"untouched. Move it aside (mv '{path}' '{path}.bad') to start a new journal "
                "there, or give another path."
            )
        mode = path.stat().st_mode
        # A file marked read-only is read-only to us even for root, who could write it.
        read_only = (
            not (mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
            or not os.access(path, os.W_OK)
            or not os.access(path.parent, os.W_OK)
        )
        if not read_only:
            if path.parent == user_data_dir():
                with contextlib.suppress(JournalReadOnlyError):
                    _make_private_folder(path.parent)
            make_files_private(path)
        return _FileState(read_only, bool(head))
    if not create:
        raise JournalNotFoundError(
            f"there is no journal at {path}. Nothing was created: a journal is created by "
            "writing to it (`moodlens journal add --mood 4`, or a stream with the "
            "mood-journal plugin); or give the journal you meant with --db."
        )
    _make_private_folder(path.parent)
    if not os.access(path.parent, os.W_OK):
        raise JournalReadOnlyError(
            f"cannot create the journal {path}: the folder is not writable; give another path"
        )
    _create_private_file(path)
    return _FileState(False, False)


def _sqlite_engine(path: Path, *, read_only: bool, echo: bool) -> Engine:
    def connect() -> sqlite3.Connection:
        if read_only:
            target = f"{path.resolve().as_uri()}?mode=ro"
            conn = sqlite3.connect(target, uri=True, check_same_thread=False)
        else:
            conn = sqlite3.connect(str(path), check_same_thread=False)
        conn.isolation_level = None  # transactions are begun by the "begin" event below
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        if not read_only:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")  # durable across crashes in WAL mode
        return conn

    engine = create_engine("sqlite://", creator=connect, echo=echo)
    begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front, so two writers queue (busy_timeout)
        # instead of one failing when it upgrades a read lock.
        conn.exec_driver_sql(begin)

    return engine


def create_journal_engine(
    url: URL, *, create: bool = True, echo: bool = False
) -> tuple[Engine, bool]:
    """An engine for the journal at ``url`` and whether it is read-only.

    Raises:
        JournalCorruptError: a SQLite file that is not a database.
        JournalReadOnlyError: a new journal cannot be created there.
        MissingDependencyError: the database's driver is not installed.
    """
    path = sqlite_path(url)
    if path is not None:
        state = _check_sqlite_file(path, create=create)
        return _sqlite_engine(path, read_only=state.read_only, echo=echo), state.read_only
    kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": True}
    if url.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": 10}
    try:
        return create_engine(url, **kwargs), False
    except ModuleNotFoundError as e:
        driver = url.get_driver_name() or url.get_backend_name()
        if driver == "psycopg":
            raise MissingDependencyError(
                "psycopg[binary]", "journal", f"a {url.get_backend_name()} journal"
            ) from e
        # Not a driver the journal extra brings: say so rather than a pip command that
        # would not help.
        raise JournalError(
            f"a {url.get_backend_name()} journal needs the Python module {e.name or driver!r} "
            f"(SQLAlchemy's {driver} driver), which is not installed; install that driver, "
            "or use SQLite (a file path) or PostgreSQL (postgresql+psycopg://..., "
            "pip install 'moodlens[journal]'), the databases the journal is tested on."
        ) from e
    except exc.ArgumentError as e:
        raise JournalError(f"cannot use the database URL {url!r}: {e}") from e


def _where(url: URL) -> str:
    return url.render_as_string(hide_password=True)


@contextlib.contextmanager
def translate_errors(url: URL, doing: str) -> Iterator[None]:
    """Turns database errors into JournalErrors that say what to do.

    Raises:
        JournalReadOnlyError, JournalCorruptError, JournalUnavailableError: see the message.
    """
    try:
        yield
    except exc.DBAPIError as e:
        raise classify_error(e, url, doing) from e
    except exc.SQLAlchemyError as e:
        raise JournalUnavailableError(f"{doing} failed on {_where(url)}: {e}") from e


def classify_error(e: exc.DBAPIError, url: URL, doing: str) -> JournalError:
    """The JournalError for a driver error."""
    text = str(e.orig).strip().splitlines()[0] if e.orig is not None else str(e)
    low = text.lower()
    where = _where(url)
    if "readonly" in low or "read-only" in low or "read only" in low:
        return JournalReadOnlyError(
            f"{doing} failed: the journal {where} is read-only ({text}). Nothing was changed; "
            "make it writable or give another journal."
        )
    if "not a database" in low or "malformed" in low or "file is encrypted" in low:
        return JournalCorruptError(
            f"{doing} failed: {where} is damaged ({text}). It was left untouched; restore a "
            "backup (journal.db.*.bak next to it, if any) or move it aside to start a new one."
        )
    if "permission denied" in low and url.get_backend_name() == "postgresql":
        return JournalReadOnlyError(
            f"{doing} failed: the database role cannot write {where} ({text}); grant it "
            "INSERT/UPDATE or use another role."
        )
    if "locked" in low or "busy" in low:
        hint = "another program kept the journal busy; try again, or close that program"
    elif "connect" in low or "timeout" in low or "could not translate host" in low:
        hint = "check that the database server is running and the URL is right"
    elif "password" in low or "authentication" in low or "role" in low:
        hint = "check the user name and password in the URL"
    else:
        hint = "nothing was changed; try again, or report this with the message"
    return JournalUnavailableError(
        f"{doing} failed on {where}: {text}. {hint[0].upper()}{hint[1:]}."
    )


# -- schema --------------------------------------------------------------------------------------
def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config for the migrations shipped in this package."""
    location = resources.files("moodlens_journal").joinpath("migrations")
    config = Config()
    config.set_main_option("script_location", str(location))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    return heads[0]


def _known_revisions() -> set[str]:
    return {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def ensure_schema(engine: Engine, url: URL, *, read_only: bool, create: bool = True) -> str:
    """Creates or upgrades the journal's tables; returns the revision now in place.

    Raises:
        JournalNotFoundError: an empty database and ``create`` False.
        JournalVersionError: the journal is newer than this moodlens.
        JournalCorruptError: the database holds other tables and is not a journal.
        JournalReadOnlyError: an older journal that cannot be upgraded in place.
    """
    head = head_revision()
    with translate_errors(url, "opening the journal"), engine.connect() as conn:
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
            current = MigrationContext.configure(conn).get_current_revision()
            if current == head:
                return current
            if current is not None and current not in _known_revisions():
                raise JournalVersionError(
                    f"the journal {_where(url)} has schema {current}, newer than this moodlens "
                    f"understands ({head}); upgrade moodlens (pip install -U moodlens)."
                )
            if current is None:
                foreign = set(inspect(conn).get_table_names()) - _OUR_TABLES
                if foreign:
                    raise JournalCorruptError(
                        f"{_where(url)} already holds other tables ({', '.join(sorted(foreign))})"
                        " and is not a moodlens journal; give an empty database or a new file."
                    )
                if not create:
                    raise JournalNotFoundError(
                        f"{_where(url)} holds no journal yet. Nothing was created: a journal "
                        "is created by writing to it (`moodlens journal add --mood 4`, or a "
                        "stream with the mood-journal plugin)."
                    )
            if read_only:
                raise JournalReadOnlyError(
                    f"the journal {_where(url)} "
                    + ("is empty" if current is None else f"has the older schema {current}")
                    + f" and must be {'created' if current is None else 'upgraded'}, but it is "
                    "read-only; make it writable once (it is upgraded in place, keeping "
                    "every row)."
                )
            path = sqlite_path(url)
            if current is not None and path is not None:
                _backup_sqlite(path, current)
            logger.info("journal %s: schema %s -> %s", _where(url), current or "empty", head)
            command.upgrade(alembic_config(conn), "head")
    return head


def _backup_sqlite(path: Path, revision: str) -> Path:
    """A consistent copy of the file before an upgrade (the caller holds the write lock)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    backup = path.with_name(f"{path.name}.schema-{revision}.{stamp}.bak")
    _create_private_file(backup)
    src = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(str(backup))
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    logger.info("journal %s: copied to %s before upgrading it", path, backup)
    return backup
