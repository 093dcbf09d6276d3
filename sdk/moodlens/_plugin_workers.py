"""Plugin workers: each enabled plugin's mailbox and the thread that delivers its hook calls.

A slow plugin never stalls the frame loop or the other plugins: hook calls are
queued in the plugin's own mailbox and delivered, in order, on its own thread.
A mailbox holds at most ``queue_size`` readings: when a plugin falls behind, its
oldest pending reading is dropped (coalesced). Start, mood changes and stop are
never dropped. At the stop, pending readings are still delivered for
``STOP_GRACE`` seconds to a plugin that takes them quickly, and dropped for a slow
one (its last reading took over ``SLOW_READING``), so that it hears the stop
promptly. A plugin whose mailbox holds ``max_pending`` undelivered calls has
stopped taking its mail (a hook that never returns): it is disabled, as a failing
one is, so that memory stays bounded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import pluggy

from ._errors import PluginError
from ._hookspecs import PROJECT, MoodlensHooks
from ._plugin_discovery import HOOK_NAMES, HOOKIMPL_MARKER, implemented_hooks

logger = logging.getLogger(__name__)

# Seconds after the stop during which readings still pending are delivered; later ones
# are dropped. A plugin that keeps up loses none, even on a loaded machine that leaves
# its thread waiting for a core a while (0.5 s proved too short there).
STOP_GRACE = 2.0
# After the stop, a plugin whose last reading took longer than this (seconds) gets no
# more readings: it would spend the grace on a few of them and hear the stop late.
SLOW_READING = 0.25


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


STOP = "moodlens_stream_stopped"  # hook names the mailbox treats specially
READING = "moodlens_reading"


class PluginWorker:
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
        register_plugin(self._pm, name, plugin)
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
        self._last_reading_took = 0.0

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"moodlens-plugin-{self.name}", daemon=True
        )
        self._thread.start()

    def put(self, hook: str, arg: str, value: Any) -> None:
        """Queues a hook call; nothing is queued after the stop (the worker is ending).

        A disabled plugin gets only the stop. Never blocks.
        """
        if hook not in self.hooks and hook != STOP:
            return
        with self._cond:
            if self.stop_queued:
                return
            if hook == STOP:
                self.stop_queued = True
                self._stop_deadline = time.monotonic() + STOP_GRACE
            elif self.disabled:
                return
            elif hook == READING:
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
        pending = len(self._items) - self._readings  # readings are bounded apart
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
            if item[0] == READING:
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
                if hook == READING:
                    self._readings -= 1
                    if self._stop_deadline is not None and (
                        time.monotonic() > self._stop_deadline
                        or self._last_reading_took > SLOW_READING
                    ):
                        self.dropped_at_stop += 1
                        continue
            # A disabled plugin still gets stream_stopped, to release what it holds.
            if hook in self.hooks and (not self.disabled or hook == STOP):
                started = time.monotonic()
                self._call(hook, arg, value)
                if hook == READING:
                    self._last_reading_took = time.monotonic() - started
            if hook == STOP:
                self.close_plugin()
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
                    self._items = deque(i for i in self._items if i[0] == STOP)
                    self._readings = 0
                logger.error(
                    "plugin %r disabled after %d failures in a row; the stream goes on without it",
                    self.name,
                    self._in_a_row,
                )
        else:
            self.delivered += 1
            self._in_a_row = 0

    def close_plugin(self) -> None:
        """Closes a plugin created from its name; an instance passed in stays the caller's."""
        if self.owned:
            close_quietly(self.name, self.plugin)

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


def register_plugin(pm: pluggy.PluginManager, name: str, plugin: Any) -> None:
    """Registers a plugin object, or says why it would never be called.

    Raises:
        PluginError: unmarked ``moodlens_*`` methods, hooks with other argument names,
            or no hook at all.
    """
    unmarked = [
        attr
        for attr in dir(plugin)
        if attr.startswith("moodlens_")
        and callable(getattr(plugin, attr, None))
        and not hasattr(getattr(plugin, attr), HOOKIMPL_MARKER)
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


def close_quietly(name: str, plugin: Any) -> None:
    """Calls a plugin's ``close()``, if it has one; an error there is logged, not raised."""
    close = getattr(plugin, "close", None)
    if callable(close):
        try:
            close()
        except Exception as exc:
            logger.error("plugin %r raised in close(): %s", name, exc, exc_info=exc)
