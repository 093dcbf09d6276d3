"""Plugin discovery: which plugins are installed, found through entry points.

A plugin is an entry point in the group ``moodlens.plugins``; its object is a
factory (usually a class) called with the plugin's settings as keyword
arguments. Listing reads the installed metadata only; a plugin is imported
when a stream enables it (or ``installed_plugins(load=True)`` asks for its hooks).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from ._errors import MoodlensError, PluginError
from ._hookspecs import PROJECT

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "moodlens.plugins"
HOOK_NAMES = (
    "moodlens_stream_started",
    "moodlens_reading",
    "moodlens_mood_changed",
    "moodlens_stream_stopped",
)
HOOKIMPL_MARKER = f"{PROJECT}_impl"  # the attribute pluggy's HookimplMarker sets on a method


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """An installed plugin, as its entry point describes it.

    Attributes:
        name: the entry point's name, which enables the plugin.
        value: where the factory lives, ``module:attribute``.
        distribution: the installed distribution that registers it, when known.
        version: that distribution's version, when known.
        hooks: the hooks it implements; None when not imported (listing stays light).
        error: why importing it failed, when ``installed_plugins(load=True)`` tried.
    """

    name: str
    value: str
    distribution: str | None = None
    version: str | None = None
    hooks: tuple[str, ...] | None = None
    error: str | None = None


def entry_points_by_name() -> dict[str, metadata.EntryPoint]:
    """The entry points of ``moodlens.plugins`` by name, sorted; the first of a name wins."""
    found: dict[str, metadata.EntryPoint] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in found:
            if found[ep.name].value != ep.value:
                logger.warning(
                    "two installed plugins are named %r (%s and %s); using the first",
                    ep.name,
                    found[ep.name].value,
                    ep.value,
                )
            continue
        found[ep.name] = ep
    return dict(sorted(found.items()))


def installed_plugins(*, load: bool = False) -> list[PluginInfo]:
    """The plugins installed in this environment, by name.

    Args:
        load: import each plugin to list its hooks (imports its dependencies too);
            by default nothing is imported.

    Returns:
        One PluginInfo per entry-point name in the group ``moodlens.plugins``.

    Example:
        >>> [p.name for p in installed_plugins()]
        ['mood-journal', 'spotify-playlist']
    """
    infos = []
    for name, ep in entry_points_by_name().items():
        dist = getattr(ep, "dist", None)
        hooks: tuple[str, ...] | None = None
        error = None
        if load:
            try:
                hooks = implemented_hooks(load_factory(ep))
            except MoodlensError as exc:
                error = str(exc)
        infos.append(
            PluginInfo(
                name=name,
                value=ep.value,
                distribution=dist.name if dist is not None else None,
                version=dist.version if dist is not None else None,
                hooks=hooks,
                error=error,
            )
        )
    return infos


def implemented_hooks(obj: Any) -> tuple[str, ...]:
    """The moodlens hooks an object or class marks with ``@hookimpl``, in call order."""
    return tuple(name for name in HOOK_NAMES if hasattr(getattr(obj, name, None), HOOKIMPL_MARKER))


def load_factory(ep: metadata.EntryPoint) -> Any:
    """Imports a plugin's factory.

    Raises:
        PluginError: importing failed; the message gives the pip command when an extra
            of its distribution is missing.
    """
    try:
        return ep.load()
    except MoodlensError:
        raise
    except ImportError as exc:
        dist = getattr(ep, "dist", None)
        hint = "install what it needs"
        if dist is not None and ep.extras:
            hint = f"install it with: pip install '{dist.name}[{','.join(ep.extras)}]'"
        elif dist is not None:
            hint = f"reinstall {dist.name}"
        raise PluginError(f"plugin {ep.name!r} cannot be imported ({exc}); {hint}.") from exc
    except Exception as exc:
        raise PluginError(
            f"plugin {ep.name!r} ({ep.value}) failed while importing: {type(exc).__name__}: {exc}"
        ) from exc
