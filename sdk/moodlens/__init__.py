"""moodlens: faces and their emotions from camera frames, on device.

Example:
    >>> from moodlens import EmotionDetector, Emotion
    >>> detector = EmotionDetector()
    >>> faces = detector.detect("photo.jpg")
    >>> [f.emotion for f in faces]
    [<Emotion.HAPPY: 'happy'>]
"""

from __future__ import annotations

__version__ = "0.1.0"

import typing as _typing

from ._detector import EmotionDetector
from ._errors import (
    FaceDetectorError,
    InvalidImageError,
    MissingDependencyError,
    ModelError,
    MoodlensError,
    OptionsError,
    PluginError,
    SourceError,
)
from ._faces import (
    FACE_FINDERS,
    FaceFinder,
    FaceFinderOptions,
    FoundFace,
    Framing,
    eye_roll,
    make_face_finder,
)
from ._finder_blazeface import BlazeFaceFinder, DetectorInfo
from ._finder_haar import HaarFaceFinder
from ._hookspecs import hookimpl
from ._model import ModelInfo, bundled_models, default_model_path
from ._paths import (
    adopt_legacy_path,
    ensure_private_dir,
    user_cache_dir,
    user_config_dir,
    user_data_dir,
)
from ._plugin_config import PluginConfig, load_plugin_config
from ._plugin_discovery import PluginInfo, installed_plugins
from ._plugin_manager import PluginManager
from ._plugin_workers import PluginStats
from ._smoothing import ScoreSmoother, SteadyMood
from ._sources import CameraSource, Frame, FrameSource, open_source
from ._stream import MoodStream, MoodStreamOptions, StreamStats
from ._types import (
    Box,
    Emotion,
    Face,
    MoodChange,
    MoodReading,
    StreamInfo,
    StreamSummary,
    TrackedFace,
)

__all__ = [
    "FACE_FINDERS",
    "BlazeFaceFinder",
    "Box",
    "Emotion",
    "EmotionDetector",
    "Face",
    "FaceDetectorError",
    "FaceFinder",
    "FaceFinderOptions",
    "FoundFace",
    "Framing",
    "Frame",
    "CameraSource",
    "DetectorInfo",
    "FrameSource",
    "HaarFaceFinder",
    "InvalidImageError",
    "MissingDependencyError",
    "ModelError",
    "ModelInfo",
    "MoodChange",
    "MoodReading",
    "MoodStream",
    "MoodStreamOptions",
    "MoodlensError",
    "OptionsError",
    "PluginConfig",
    "PluginError",
    "PluginInfo",
    "PluginManager",
    "PluginStats",
    "ScoreSmoother",
    "SourceError",
    "SteadyMood",
    "StreamInfo",
    "StreamStats",
    "StreamSummary",
    "TrackedFace",
    "AnalyzedSource",
    "SourceSummary",
    "analyze",
    "analyze_iter",
    "__version__",
    "adopt_legacy_path",
    "bundled_models",
    "ensure_private_dir",
    "eye_roll",
    "default_model_path",
    "hookimpl",
    "installed_plugins",
    "load_plugin_config",
    "make_face_finder",
    "open_source",
    "user_cache_dir",
    "user_config_dir",
    "user_data_dir",
]

# Batch analysis loads on first use: it needs the `batch` extra (pandas, pyarrow).
if _typing.TYPE_CHECKING:
    from ._analyze import AnalyzedSource, analyze, analyze_iter
    from ._analyze_table import SourceSummary

_LAZY = {
    "analyze": "moodlens._analyze",
    "analyze_iter": "moodlens._analyze",
    "AnalyzedSource": "moodlens._analyze",
    "SourceSummary": "moodlens._analyze_table",
}


def __getattr__(name: str) -> _typing.Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'moodlens' has no attribute {name!r}")
