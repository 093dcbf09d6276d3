"""The one exception tree of moodlens; only these reach the user.

MoodlensError
├── InvalidImageError      an image or frame that cannot be used (None, empty, wrong dtype...)
├── OptionsError           an option or argument value that is out of range or of the wrong type
├── ModelError             a model file that is missing, unreadable or not self-describing
├── FaceDetectorError      the installed OpenCV cannot detect faces (no Haar cascades)
├── SourceError            a camera, video, image or folder that cannot be read
├── PluginError            a plugin that cannot be found, configured or loaded
└── MissingDependencyError an optional extra that is not installed (says the pip command)
"""

from __future__ import annotations


class MoodlensError(Exception):
    """Base of every error moodlens raises on purpose."""


class InvalidImageError(MoodlensError, ValueError):
    """The image or frame cannot be used; the message says what was wrong."""


class OptionsError(MoodlensError, ValueError):
    """An option or argument has a wrong value or type; the message says which and what works.

    Options classes (``MoodStreamOptions``, ``FaceFinderOptions``) and constructors such as
    ``EmotionDetector(threads=...)`` raise it. It is also a ``ValueError``, so code that already
    catches ``ValueError`` keeps working.
    """


class ModelError(MoodlensError):
    """The emotion model cannot be loaded or does not describe itself."""


class FaceDetectorError(MoodlensError):
    """Face detection is not available with the installed OpenCV."""


class SourceError(MoodlensError):
    """A frame source (camera, video, images) cannot be opened or read."""


class PluginError(MoodlensError):
    """A plugin cannot be found, configured or loaded."""


class MissingDependencyError(MoodlensError, ImportError):
    """An optional dependency is missing; the message carries the pip command."""

    def __init__(self, package: str, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs {package}, which is not installed. "
            f"Install it with: pip install 'moodlens[{extra}]'"
        )
        self.package, self.extra = package, extra


def require(module: str, *, extra: str, feature: str, package: str | None = None):
    """Imports an optional dependency or raises MissingDependencyError with the pip command."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(package or module, extra, feature) from exc
