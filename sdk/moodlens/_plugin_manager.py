"""PluginManager: the plugins enabled for one stream, created, fed and stopped together.

Installing a plugin does not enable it: a stream enables plugins by name (their
settings come from keyword arguments over the user's config file) or takes
configured instances. Each one gets a PluginWorker (its own mailbox and thread).
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from ._errors import MoodlensError, OptionsError, PluginError
from ._plugin_config import PluginConfig, config_path, load_plugin_config
from ._plugin_discovery import entry_points_by_name, load_factory
from ._plugin_workers import STOP, PluginStats, PluginWorker, close_quietly
from ._types import MoodChange, MoodReading, StreamInfo, StreamSummary

logger = logging.getLogger(__name__)

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
        file_settings = PluginConfig()
        if config is not False and any(isinstance(s, str) for s in specs):
            path = None if config is None or config is True else config
            file_settings = load_plugin_config(path)
        self._workers: list[PluginWorker] = []
        names = set()
        try:
            for spec in specs:
                name, plugin, owned = self._create(spec, given, file_settings)
                try:
                    if name in names:
                        raise PluginError(f"plugin {name!r} is enabled twice; enable it once.")
                    worker = PluginWorker(
                        name,
                        plugin,
                        owned=owned,
                        queue_size=queue_size,
                        max_failures=max_failures,
                        max_pending=max_pending,
                    )
                except BaseException:
                    if owned:
                        close_quietly(name, plugin)
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
                worker.close_plugin()
            raise
        self._started = self._stopped = self._closed = False
        self._lock = threading.Lock()

    @staticmethod
    def _create(
        spec: PluginSpec, settings: dict[str, dict[str, Any]], file_settings: PluginConfig
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
        available = entry_points_by_name()
        if spec not in available:
            names = ", ".join(available) or "none"
            raise PluginError(
                f"no plugin named {spec!r} is installed (installed: {names}); install it "
                "with pip, then check `moodlens plugins`."
            )
        factory = load_factory(available[spec])
        kwargs = {**file_settings.settings(spec), **settings.get(spec, {})}
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

        Pending readings are delivered for ``STOP_GRACE`` seconds more to a plugin that
        takes them quickly and dropped for a slow one (mood changes and the stop never
        are), so that a slow plugin hears the stop promptly. Waits
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
            worker.put(STOP, "summary", summary)
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
            worker.close_plugin()

    def stats(self) -> list[PluginStats]:
        """Each plugin's statistics so far."""
        return [w.stats() for w in self._workers]
