"""Plugins: discovery through entry points, settings, and delivery off the frame loop.

A plugin is an entry point in the group ``moodlens.plugins``; its object is a
factory (usually a class) called with the plugin's settings as keyword
arguments. Installing a plugin does not enable it: a stream enables plugins by
name, or takes configured instances.

Each enabled plugin gets its own worker thread and mailbox, so a slow plugin
never stalls the frame loop or the other plugins. A mailbox holds at most
``queue_size`` readings: when a plugin falls behind, its oldest pending reading is
dropped (coalesced). Start, mood changes and stop are never dropped, and every
plugin sees its events in the order they happened. At the stop, readings still
pending after a short grace are dropped, so that a slow plugin hears the stop
promptly. A plugin whose mailbox holds ``max_pending`` undelivered calls has
stopped taking its mail (a hook that never returns): it is disabled, as a failing
one is, so that memory stays bounded.

Settings come from keyword arguments and from the user's config file
(``config.toml`` in the moodlens config folder, or the file named by the
``MOODLENS_CONFIG`` environment variable)::

    enabled = ["mood-journal"]        # what `moodlens watch` enables without --plugin

    [plugins.mood-journal]
    url = "sqlite:////home/me/moods.db"
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pluggy

from ._errors import MoodlensError, OptionsError, PluginError
from ._hookspecs import PROJECT, MoodlensHooks
from ._types import MoodChange, MoodReading, StreamInfo, StreamSummary

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "moodlens.plugins"
HOOK_NAMES = (
    "moodlens_stream_started",
    "moodlens_reading",
    "moodlens_mood_changed",
    "moodlens_stream_stopped",
)
_MARKER = f"{PROJECT}_impl"  # the attribute pluggy's HookimplMarker sets on a method
_APP = "moodlens"
# Seconds after the stop during which readings still pending are delivered; later ones
# are dropped. A plugin that keeps up loses none; a slow one stops promptly.
STOP_GRACE = 0.5


# -- discovery ---------------------------------------------------------------------------------
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


def _entry_points() -> dict[str, metadata.EntryPoint]:
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
    for name, ep in _entry_points().items():
        dist = getattr(ep, "dist", None)
        hooks: tuple[str, ...] | None = None
        error = None
        if load:
            try:
                hooks = implemented_hooks(_load_factory(ep))
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
    return tuple(name for name in HOOK_NAMES if hasattr(getattr(obj, name, None), _MARKER))


def _load_factory(ep: metadata.EntryPoint) -> Any:
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


# -- configuration ---------------------------------------------------------------------------
def toml_module() -> Any:
    """tomllib (Python 3.11+) or its backport tomli (a core dependency on 3.10)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib


def config_dir() -> Path:
    """The user's moodlens config folder, where platformdirs would put it.

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
    """The config file: ``$MOODLENS_CONFIG`` when set, else ``config.toml`` in config_dir()."""
    env = os.environ.get("MOODLENS_CONFIG", "").strip()
    return Path(env).expanduser() if env else config_dir() / "config.toml"


def load_config(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Reads the config file; an absent default file is an empty config.

    Args:
        path: a TOML file; None for config_path().

    Raises:
        PluginError: the file is not valid TOML, or an explicitly given file is missing.
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


# -- one plugin's worker ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PluginStats:
    """How a plugin fared in one stream.

    Attributes:
        name: the plugin's name.
        delivered: hook calls that returned normally.
        coalesced: readings skipped because the plugin fell behind.
        failures: hook calls that raised.
        disabled: the plugin was disabled (``disabled_reason`` says why).
        finished: the plugin got ``stream_stopped`` and finished within the stop timeout.
        dropped_at_stop: readings still pending after the stop's grace, not delivered.
        disabled_reason: why the plugin was disabled (failures in a row, or a full
            mailbox); None while it is enabled.
    """

    name: str
    delivered: int
    coalesced: int
    failures: int
    disabled: bool
    finished: bool
    dropped_at_stop: int = 0
    disabled_reason: str | None = None


_STOP = "moodlens_stream_stopped"
_READING = "moodlens_reading"


class _PluginWorker:
    """Delivers one plugin's hook calls, in order, on its own thread."""

    def __init__(
        self,
        name: str,
        plugin: Any,
        *,
        owned: bool,
        queue_size: int,
        max_failures: int,
        max_pending: int,
    ):
        self.name, self.plugin, self.owned = name, plugin, owned
        self.queue_size, self.max_failures, self.max_pending = queue_size, max_failures, max_pending
        self._pm = pluggy.PluginManager(PROJECT)
        self._pm.add_hookspecs(MoodlensHooks)
        _register(self._pm, name, plugin)
        self.hooks = implemented_hooks(plugin)
        self._items: deque[tuple[str, str, Any]] = deque()
        self._readings = 0
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self.delivered = self.coalesced = self.failures = self.dropped_at_stop = 0
        self._in_a_row = 0
        self.disabled = self.finished = False
        self.disabled_reason: str | None = None
        self.stop_queued = False
        self._stop_deadline: float | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"moodlens-plugin-{self.name}", daemon=True
        )
        self._thread.start()

    def put(self, hook: str, arg: str, value: Any) -> None:
        """Queues a hook call; nothing is queued after the stop (the worker is ending).

        A disabled plugin gets only the stop. Never blocks.
        """
        if hook not in self.hooks and hook != _STOP:
            return
        with self._cond:
            if self.stop_queued:
                return
            if hook == _STOP:
                self.stop_queued = True
                self._stop_deadline = time.monotonic() + STOP_GRACE
            elif self.disabled:
                return
            elif hook == _READING:
                if self._readings >= self.queue_size:
                    self._drop_oldest_reading()
                self._readings += 1
            elif len(self._items) - self._readings >= self.max_pending:
                self._disable_stalled()
                return
            self._items.append((hook, arg, value))
            self._cond.notify()

    def _disable_stalled(self) -> None:
        """The plugin stopped taking its mail: disabled, its mailbox emptied (memory bounded)."""
        pending = len(self._items)
        self._items.clear()
        self._readings = 0
        self.disabled_reason = (
            f"its mailbox held {pending} undelivered calls (a hook that does not return?)"
        )
        self.disabled = True
        logger.error(
            "plugin %r disabled: %s; the stream goes on without it",
            self.name,
            self.disabled_reason,
        )

    def _drop_oldest_reading(self) -> None:
        for i, item in enumerate(self._items):
            if item[0] == _READING:
                del self._items[i]
                self._readings -= 1
                self.coalesced += 1
                return

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._items:
                    self._cond.wait()
                hook, arg, value = self._items.popleft()
                if hook == _READING:
                    self._readings -= 1
                    deadline = self._stop_deadline
                    if deadline is not None and time.monotonic() > deadline:
                        self.dropped_at_stop += 1
                        continue
            # A disabled plugin still gets stream_stopped, to release what it holds.
            if hook in self.hooks and (not self.disabled or hook == _STOP):
                self._call(hook, arg, value)
            if hook == _STOP:
                self._close()
                self.finished = True
                return

    def _call(self, hook: str, arg: str, value: Any) -> None:
        try:
            getattr(self._pm.hook, hook)(**{arg: value})
        except BaseException as exc:  # noqa: BLE001 - a plugin must not kill its worker
            self.failures += 1
            self._in_a_row += 1
            logger.error(
                "plugin %r raised in %s: %s: %s",
                self.name,
                hook,
                type(exc).__name__,
                exc,
                exc_info=exc,
            )
            if not self.disabled and self._in_a_row >= self.max_failures:
                with self._cond:
                    self.disabled_reason = f"{self._in_a_row} failures in a row"
                    self.disabled = True
                    self._items = deque(i for i in self._items if i[0] == _STOP)
                    self._readings = 0
                logger.error(
                    "plugin %r disabled after %d failures in a row; the stream goes on without it",
                    self.name,
                    self._in_a_row,
                )
        else:
            self.delivered += 1
            self._in_a_row = 0

    def _close(self) -> None:
        """Closes a plugin created from its name; an instance passed in stays the caller's."""
        if self.owned:
            _close_quietly(self.name, self.plugin)

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(max(0.0, timeout))

    def stats(self) -> PluginStats:
        return PluginStats(
            self.name,
            self.delivered,
            self.coalesced,
            self.failures,
            self.disabled,
            self.finished,
            self.dropped_at_stop,
            self.disabled_reason,
        )


def _register(pm: pluggy.PluginManager, name: str, plugin: Any) -> None:
    unmarked = [
        attr
        for attr in dir(plugin)
        if attr.startswith("moodlens_")
        and callable(getattr(plugin, attr, None))
        and not hasattr(getattr(plugin, attr), _MARKER)
    ]
    if unmarked:
        raise PluginError(
            f"plugin {name!r}: {', '.join(unmarked)} lack the @moodlens.hookimpl decorator, "
            "so they would never be called; decorate them."
        )
    try:
        pm.register(plugin, name=name)
        pm.check_pending()
    except (pluggy.PluginValidationError, ValueError) as exc:
        raise PluginError(
            f"plugin {name!r} does not fit the moodlens hooks: {exc}. Hooks are: "
            + ", ".join(f"{h}({_arg(h)})" for h in HOOK_NAMES)
        ) from None
    if not implemented_hooks(plugin):
        raise PluginError(
            f"plugin {name!r} implements no moodlens hook; mark methods such as "
            "moodlens_mood_changed(self, change) with @moodlens.hookimpl."
        )


def _arg(hook: str) -> str:
    return {
        "moodlens_stream_started": "info",
        "moodlens_reading": "reading",
        "moodlens_mood_changed": "change",
        "moodlens_stream_stopped": "summary",
    }[hook]


# -- the manager -----------------------------------------------------------------------------
PluginSpec = Any  # a plugin name (str) or a configured plugin instance


class PluginManager:
    """The plugins enabled for one stream, each delivered to on its own thread.

    Args:
        plugins: plugin names (entry points in ``moodlens.plugins``) and/or configured
            plugin instances (objects with ``@hookimpl`` methods).
        settings: per-plugin keyword arguments by plugin name; they override the
            config file's ``[plugins.NAME]`` table.
        config: a config file; None for the user's (see config_path()); False for none.
        queue_size: readings a plugin may have pending before the oldest are coalesced.
        max_failures: failing calls in a row after which a plugin is disabled.
        stop_timeout: seconds ``stop()`` waits for all plugins to finish.
        max_pending: undelivered calls other than readings (mood changes) a plugin's
            mailbox may hold; one more disables the plugin, which has stopped taking them.

    Raises:
        PluginError: an unknown name, a plugin that cannot be imported or created, bad
            settings, duplicate names, or an object that implements no hook.
        OptionsError: a count or timeout out of range.

    Example:
        >>> manager = PluginManager(["mood-journal"], settings={"mood-journal": {"url": url}})
        >>> manager.start(info); manager.reading(reading); manager.stop(summary)
    """

    def __init__(
        self,
        plugins: Iterable[PluginSpec] = (),
        *,
        settings: Mapping[str, Mapping[str, Any]] | None = None,
        config: str | os.PathLike[str] | bool | None = None,
        queue_size: int = 32,
        max_failures: int = 3,
        stop_timeout: float = 10.0,
        max_pending: int = 10_000,
    ) -> None:
        if queue_size < 1 or max_failures < 1 or max_pending < 1 or not stop_timeout >= 0:
            raise OptionsError(
                "queue_size, max_failures and max_pending must be >= 1 and stop_timeout >= 0; "
                f"got {queue_size}, {max_failures}, {max_pending}, {stop_timeout}"
            )
        self.stop_timeout = stop_timeout
        specs = list(plugins)
        given = {k: dict(v) for k, v in (settings or {}).items()}
        file_settings: dict[str, Any] = {}
        if config is not False and any(isinstance(s, str) for s in specs):
            path = None if config in (None, True) else config
            file_settings = load_config(path).get("plugins", {})  # type: ignore[arg-type]
        self._workers: list[_PluginWorker] = []
        names = set()
        try:
            for spec in specs:
                name, plugin, owned = self._create(spec, given, file_settings)
                try:
                    if name in names:
                        raise PluginError(f"plugin {name!r} is enabled twice; enable it once.")
                    worker = _PluginWorker(
                        name,
                        plugin,
                        owned=owned,
                        queue_size=queue_size,
                        max_failures=max_failures,
                        max_pending=max_pending,
                    )
                except BaseException:
                    if owned:
                        _close_quietly(name, plugin)
                    raise
                names.add(name)
                self._workers.append(worker)
            unused = sorted(set(given) - names)
            if unused:
                raise PluginError(
                    f"settings were given for {', '.join(map(repr, unused))}, which "
                    f"{'is' if len(unused) == 1 else 'are'} not enabled; enabled: "
                    f"{', '.join(sorted(names)) or 'none'}."
                )
        except BaseException:
            for worker in self._workers:
                worker._close()
            raise
        self._started = self._stopped = self._closed = False
        self._lock = threading.Lock()

    @staticmethod
    def _create(
        spec: PluginSpec, settings: dict[str, dict[str, Any]], file_settings: dict[str, Any]
    ) -> tuple[str, Any, bool]:
        if not isinstance(spec, str):
            if inspect.isclass(spec):
                raise PluginError(
                    f"{spec.__name__} is a class; pass a configured instance "
                    f"({spec.__name__}(...)) or the plugin's installed name."
                )
            name = getattr(spec, "name", None)
            name = name if isinstance(name, str) and name else type(spec).__name__
            if name in settings:
                raise PluginError(
                    f"settings were given for {name!r}, but it was passed as an instance; "
                    "configure the instance instead."
                )
            return name, spec, False
        available = _entry_points()
        if spec not in available:
            names = ", ".join(available) or "none"
            raise PluginError(
                f"no plugin named {spec!r} is installed (installed: {names}); install it "
                "with pip, then check `moodlens plugins`."
            )
        factory = _load_factory(available[spec])
        kwargs = {**file_settings.get(spec, {}), **settings.get(spec, {})}
        try:
            inspect.signature(factory).bind(**kwargs)
        except TypeError as exc:
            raise PluginError(
                f"plugin {spec!r} does not accept these settings ({exc}); check the keyword "
                f"arguments and [plugins.{spec}] in {config_path()}."
            ) from None
        except ValueError:
            pass  # no signature to check (a builtin); the call itself will tell
        try:
            plugin = factory(**kwargs)
        except MoodlensError:
            raise
        except Exception as exc:
            raise PluginError(
                f"plugin {spec!r} could not be created: {type(exc).__name__}: {exc}"
            ) from exc
        return spec, plugin, True

    @property
    def names(self) -> list[str]:
        """The enabled plugins' names, in the order they were given."""
        return [w.name for w in self._workers]

    @property
    def plugins(self) -> dict[str, Any]:
        """The enabled plugin objects by name."""
        return {w.name: w.plugin for w in self._workers}

    def start(self, info: StreamInfo) -> None:
        """Starts the workers and queues ``moodlens_stream_started`` for each plugin.

        Raises:
            PluginError: the manager was already started, or closed.
        """
        with self._lock:
            if self._started:
                raise PluginError("this PluginManager was already started; use a new one.")
            if self._closed:
                raise PluginError("this PluginManager was closed; use a new one.")
            self._started = True
        for worker in self._workers:
            worker.start()
            worker.put("moodlens_stream_started", "info", info)

    def reading(self, reading: MoodReading) -> None:
        """Queues a reading; never blocks (a plugin behind has old readings coalesced)."""
        for worker in self._workers:
            worker.put("moodlens_reading", "reading", reading)

    def mood_changed(self, change: MoodChange) -> None:
        """Queues a mood change for every plugin; never coalesced."""
        for worker in self._workers:
            worker.put("moodlens_mood_changed", "change", change)

    def stop(self, summary: StreamSummary) -> list[PluginStats]:
        """Queues ``moodlens_stream_stopped`` last and waits for the plugins to finish.

        Readings still pending ``STOP_GRACE`` seconds after the stop are dropped (mood
        changes and the stop never are), so a slow plugin hears the stop promptly. Waits
        at most ``stop_timeout`` seconds in all; a plugin still busy then is logged and
        left to finish on its (daemon) thread. Safe to call twice: a stop that was
        interrupted (Ctrl-C while waiting) completes on the next call, and no plugin hears
        it twice. A manager that was never started only closes the plugins it created.

        Returns:
            Each plugin's statistics.
        """
        with self._lock:
            if self._stopped:
                return self.stats()
            started = self._started
        if not started:
            self.close()
            return self.stats()
        for worker in self._workers:
            worker.put(_STOP, "summary", summary)
        deadline = time.monotonic() + self.stop_timeout
        for worker in self._workers:
            worker.join(deadline - time.monotonic())
        with self._lock:
            self._stopped = True
        for worker in self._workers:
            if not worker.finished:
                logger.warning(
                    "plugin %r did not finish within %.1f s of the stream stopping",
                    worker.name,
                    self.stop_timeout,
                )
            if worker.coalesced or worker.dropped_at_stop:
                logger.info(
                    "plugin %r fell behind: %d readings were coalesced, %d dropped at the stop",
                    worker.name,
                    worker.coalesced,
                    worker.dropped_at_stop,
                )
        return self.stats()

    def close(self) -> None:
        """Closes the plugins created from names without starting them; safe to call twice.

        For a manager that will not be started (the stream failed to open); a started one
        closes them itself, after ``moodlens_stream_stopped``.
        """
        with self._lock:
            if self._started or self._closed:
                return
            self._closed = True
        for worker in self._workers:
            worker._close()

    def stats(self) -> list[PluginStats]:
        """Each plugin's statistics so far."""
        return [w.stats() for w in self._workers]


def _close_quietly(name: str, plugin: Any) -> None:
    close = getattr(plugin, "close", None)
    if callable(close):
        try:
            close()
        except Exception as exc:
            logger.error("plugin %r raised in close(): %s", name, exc, exc_info=exc)
