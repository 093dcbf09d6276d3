"""The user's moodlens folders: one platformdirs scheme for config, data and cache.

Every part of moodlens (the plugin config, the journal, the Spotify tokens) and
third-party plugins find their folders here, so all of them agree on every
platform. Private folders are created owner-only (0700).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import platformdirs

logger = logging.getLogger(__name__)

_APP = "moodlens"


def user_config_dir(*parts: str) -> Path:
    """The moodlens config folder (or a sub-folder of it); not created.

    Linux: ``~/.config/moodlens``; macOS: ``~/Library/Application Support/moodlens``;
    Windows: ``%LOCALAPPDATA%\\moodlens``.

    Example:
        >>> user_config_dir("spotify")  # doctest: +SKIP
        PosixPath('/home/ada/.config/moodlens/spotify')
    """
    return Path(platformdirs.user_config_path(_APP, appauthor=False)).joinpath(*parts)


def user_data_dir(*parts: str) -> Path:
    """The moodlens data folder (or a sub-folder of it); not created.

    Linux: ``~/.local/share/moodlens``; macOS: ``~/Library/Application Support/moodlens``;
    Windows: ``%LOCALAPPDATA%\\moodlens``.
    """
    return Path(platformdirs.user_data_path(_APP, appauthor=False)).joinpath(*parts)


def user_cache_dir(*parts: str) -> Path:
    """The moodlens cache folder (or a sub-folder of it); not created.

    Linux: ``~/.cache/moodlens``; macOS: ``~/Library/Caches/moodlens``;
    Windows: ``%LOCALAPPDATA%\\moodlens\\Cache``.
    """
    return Path(platformdirs.user_cache_path(_APP, appauthor=False)).joinpath(*parts)


def ensure_private_dir(path: str | os.PathLike[str]) -> Path:
    """Creates ``path`` (and missing parents) and makes it owner-only (0700).

    A folder that already existed is tightened to 0700 too: private data (a journal,
    tokens) must not stay readable by other users of the machine.

    Raises:
        OSError: the folder cannot be created or its mode cannot be set.
    """
    folder = Path(path).expanduser()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix":
        os.chmod(folder, 0o700)
    return folder


def adopt_legacy_path(legacy: str | os.PathLike[str], current: str | os.PathLike[str]) -> Path:
    """Moves a file or folder from an old location to the current one, once.

    Nothing is overwritten: when ``current`` exists already, the legacy copy is
    left where it is (and logged). Returns ``current``.

    Raises:
        OSError: the move failed.
    """
    old, new = Path(legacy).expanduser(), Path(current).expanduser()
    if old == new or not old.exists():
        return new
    if new.exists():
        logger.info("both %s and %s exist; using %s and leaving the old copy", old, new, new)
        return new
    new.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(old), str(new))
    logger.info("moved %s to %s", old, new)
    return new
