"""moodlens-hello: a complete moodlens plugin in a few lines.

Enable it with ``MoodStream(source, plugins=["hello"])`` or
``moodlens watch --video clip.mp4 --plugin hello``; settings come from keyword
arguments (``plugin_settings={"hello": {"greeting": "hi"}}``) or the
``[plugins.hello]`` table of the moodlens config file.
"""

from __future__ import annotations

import sys
from typing import TextIO

from moodlens import MoodChange, StreamInfo, StreamSummary, hookimpl

__all__ = ["HelloPlugin"]


class HelloPlugin:
    """Greets every change of the scene mood.

    Args:
        greeting: the word to greet with.
        path: append the greetings to this file instead of printing them.
    """

    def __init__(self, greeting: str = "hello", path: str | None = None) -> None:
        self.greeting = greeting
        self._out: TextIO = open(path, "a", encoding="utf-8") if path else sys.stdout

    def _say(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    @hookimpl
    def moodlens_stream_started(self, info: StreamInfo) -> None:
        self._say(f"{self.greeting}, {info.source}!")

    @hookimpl
    def moodlens_mood_changed(self, change: MoodChange) -> None:
        if change.face_id is None:  # the scene mood, not each face's
            mood = change.current.value if change.current else "nobody"
            self._say(f"{self.greeting}, {mood} at {change.at:.1f}s")

    @hookimpl
    def moodlens_stream_stopped(self, summary: StreamSummary) -> None:
        self._say(f"goodbye after {summary.frames} frames ({summary.reason})")

    def close(self) -> None:
        """Called by the stream after stream_stopped when it created the plugin."""
        if self._out is not sys.stdout:
            self._out.close()
