"""moodlens training tools: FER2013/FER+/image-folder loaders, models, training, evaluation.

Needs the ``train`` extra: ``pip install 'moodlens[train]'``.
"""

from ._data import (
    LABELS,
    VALIDATION,
    DataError,
    FaceSet,
    attach_ferplus,
    load_faces,
    load_fer2013_csv,
    load_ferplus_votes,
    load_image_folder,
    split_validation,
    with_validation,
)
from ._evaluate import (
    calibration,
    evaluate_model,
    evaluate_model_with_scores,
    expected_calibration_error,
    format_report,
    metrics,
    plot_confusion,
    write_report,
)
from ._extra import require_train_extra

__all__ = [
    "LABELS",
    "VALIDATION",
    "DataError",
    "FaceSet",
    "attach_ferplus",
    "calibration",
    "evaluate_model",
    "evaluate_model_with_scores",
    "expected_calibration_error",
    "format_report",
    "load_faces",
    "load_fer2013_csv",
    "load_ferplus_votes",
    "load_image_folder",
    "metrics",
    "plot_confusion",
    "require_train_extra",
    "split_validation",
    "with_validation",
    "write_report",
]
