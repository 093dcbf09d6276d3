"""Plugin hooks (pluggy). A plugin implements any subset with ``@hookimpl``.

A plugin is found through the entry-point group ``moodlens.plugins``: the entry
point's name is the plugin's name and its object is a factory (usually a class)
called with the plugin's settings as keyword arguments. The object it returns
carries the ``@hookimpl`` methods, and may have ``close()``.

Example:
    >>> from moodlens import hookimpl
    >>> class Hello:
    ...     @hookimpl
    ...     def moodlens_mood_changed(self, change):
    ...         print(f"now {change.current}")
"""

from __future__ import annotations

import pluggy

from ._types import MoodChange, MoodReading, StreamInfo, StreamSummary

PROJECT = "moodlens"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class MoodlensHooks:
    """The hook specifications; each is called off the frame loop, in order, per plugin."""

    @hookspec
    def moodlens_stream_started(self, info: StreamInfo) -> None:
        """A stream started reading its source."""

    @hookspec
    def moodlens_reading(self, reading: MoodReading) -> None:
        """A processed frame; may be coalesced (skipped) when the plugin falls behind."""

    @hookspec
    def moodlens_mood_changed(self, change: MoodChange) -> None:
        """The steady mood of a face or of the scene changed; never coalesced."""

    @hookspec
    def moodlens_stream_stopped(self, summary: StreamSummary) -> None:
        """The stream stopped (end, close, Ctrl-C or error); always delivered, last."""
