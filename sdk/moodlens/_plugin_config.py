"""Plugin configuration: the user's ``config.toml``, read into a PluginConfig.

The file lives in the moodlens config folder (``moodlens.user_config_dir()``), or
wherever the ``MOODLENS_CONFIG`` environment variable says::

    enabled = ["mood-journal"]        # what `moodlens watch` enables without --plugin

    [plugins.mood-journal]
    url = "sqlite:////home/me/moods.db"

A config written where moodlens 0.1 looked for it (its own folder scheme) is
still read when the current folder has none.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ._errors import PluginError
from ._paths import user_config_dir

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.toml"
_APP = "moodlens"


def toml_module() -> Any:
    """tomllib (Python 3.11+) or its backport tomli (a core dependency on 3.10)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib


def config_dir() -> Path:
    """The user's moodlens config folder: ``moodlens.user_config_dir()``."""
    return user_config_dir()


def legacy_config_dir() -> Path:
    """Where moodlens 0.1 put the config folder, by its own scheme (before platformdirs).

    Linux and BSD: ``$XDG_CONFIG_HOME/moodlens`` (default ``~/.config/moodlens``);
    macOS: ``~/Library/Application Support/moodlens``; Windows:
    ``%LOCALAPPDATA%\\moodlens``.
    """
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / _APP
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / _APP
    xdg = os.environ.get("XDG_CONFIG_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".config") / _APP


def config_path() -> Path:
    """The config file moodlens reads.

    ``$MOODLENS_CONFIG`` when set; else ``config.toml`` in config_dir(), or in
    legacy_config_dir() when only that one exists (read in place, never moved: the
    user may still edit it there).
    """
    env = os.environ.get("MOODLENS_CONFIG", "").strip()
    if env:
        return Path(env).expanduser()
    current = config_dir() / CONFIG_FILE
    legacy = legacy_config_dir() / CONFIG_FILE
    if not current.exists() and legacy != current and legacy.is_file():
        logger.info("reading the plugin config from its old location %s", legacy)
        return legacy
    return current


def read_config_file(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The config file's contents as parsed TOML, checked; an absent default file is ``{}``.

    Raises:
        PluginError: the file is not valid TOML or not laid out as moodlens expects, or
            an explicitly given file is missing.
    """
    file = Path(path) if path is not None else config_path()
    if not file.is_file():
        if path is not None:
            raise PluginError(f"config file {str(file)!r} does not exist.")
        return {}
    toml = toml_module()
    try:
        with file.open("rb") as fh:
            config = toml.load(fh)
    except (OSError, toml.TOMLDecodeError) as exc:
        raise PluginError(f"config file {str(file)!r} cannot be read: {exc}") from None
    enabled = config.get("enabled", [])
    if not isinstance(enabled, list) or not all(isinstance(n, str) for n in enabled):
        raise PluginError(f"in {str(file)!r}, 'enabled' must be a list of plugin names.")
    plugins = config.get("plugins", {})
    if not isinstance(plugins, dict) or not all(isinstance(v, dict) for v in plugins.values()):
        raise PluginError(
            f"in {str(file)!r}, plugin settings go in tables like [plugins.mood-journal]."
        )
    return config


@dataclass(frozen=True, slots=True)
class PluginConfig:
    """The user's plugin configuration, as read from ``config.toml``.

    Attributes:
        path: the file it came from; None when there was none (an empty config).
        enabled: the plugins ``moodlens watch`` enables when no ``--plugin`` is given.
        plugins: each plugin's settings (its ``[plugins.NAME]`` table), by plugin name.
    """

    path: Path | None = None
    enabled: tuple[str, ...] = ()
    plugins: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))

    def settings(self, name: str) -> dict[str, Any]:
        """Plugin ``name``'s settings (a copy of ``[plugins.NAME]``); empty when it has none.

        Example:
            >>> load_plugin_config().settings("spotify-playlist")  # doctest: +SKIP
            {'interval': 60}
        """
        return dict(self.plugins.get(name, {}))


def load_plugin_config(path: str | os.PathLike[str] | None = None) -> PluginConfig:
    """Reads the plugin config file, the one ``moodlens watch`` and MoodStream use.

    A plugin with settings of its own (a CLI sub-command, say) reads them here, so that
    it honours ``MOODLENS_CONFIG`` and ``--config`` like moodlens does.

    Args:
        path: a TOML file; None for the user's (``$MOODLENS_CONFIG``, else
            ``config.toml`` in ``moodlens.user_config_dir()``); its absence is an
            empty config.

    Returns:
        The enabled plugin names and each plugin's settings.

    Raises:
        PluginError: the file is not valid TOML or not laid out as above, or ``path``
            was given and does not exist.

    Example:
        >>> from moodlens import load_plugin_config
        >>> config = load_plugin_config()
        >>> config.enabled, config.settings("mood-journal")  # doctest: +SKIP
        (('mood-journal',), {'url': 'sqlite:////home/me/moods.db'})
    """
    raw = read_config_file(path)
    file = Path(path) if path is not None else config_path()
    tables = raw.get("plugins", {})
    plugins = {name: MappingProxyType(dict(table)) for name, table in tables.items()}
    return PluginConfig(
        path=file if file.is_file() else None,
        enabled=tuple(raw.get("enabled", [])),
        plugins=MappingProxyType(plugins),
    )
