"""Compatibility: what ``moodlens._plugins`` offered before it was split.

Plugins are now found in ``_plugin_discovery``, configured in ``_plugin_config``,
fed by ``_plugin_workers`` and managed by ``_plugin_manager``. Other packages use
the public API instead (``moodlens.load_plugin_config``, ``moodlens.PluginManager``,
``moodlens.installed_plugins``); this module only keeps their older imports working
and goes once none is left.
"""

from __future__ import annotations

import os
from typing import Any

from ._plugin_config import (
    PluginConfig,
    config_dir,
    config_path,
    load_plugin_config,
    read_config_file,
    toml_module,
)
from ._plugin_discovery import (
    ENTRY_POINT_GROUP,
    HOOK_NAMES,
    PluginInfo,
    implemented_hooks,
    installed_plugins,
)
from ._plugin_manager import PluginManager, PluginSpec
from ._plugin_workers import STOP_GRACE, PluginStats

__all__ = [
    "ENTRY_POINT_GROUP",
    "HOOK_NAMES",
    "STOP_GRACE",
    "PluginConfig",
    "PluginInfo",
    "PluginManager",
    "PluginSpec",
    "PluginStats",
    "config_dir",
    "config_path",
    "implemented_hooks",
    "installed_plugins",
    "load_config",
    "load_plugin_config",
    "toml_module",
]


def load_config(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The config file as parsed TOML; use ``moodlens.load_plugin_config`` instead."""
    return read_config_file(path)
