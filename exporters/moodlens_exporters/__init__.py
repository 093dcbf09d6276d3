"""moodlens exporters: Keras -> ONNX with metadata, parity checks, int8 quantisation.

Needs the ``train`` extra: ``pip install 'moodlens[train]'``.
"""

from ._calibrate import fit_temperature, fit_vector_scaling, vector_scores
from ._keras_to_onnx import ExportError, ParityResult, convert, load_float32, parity, with_head

__all__ = [
    "ExportError",
    "ParityResult",
    "convert",
    "fit_temperature",
    "fit_vector_scaling",
    "load_float32",
    "parity",
    "vector_scores",
    "with_head",
]
