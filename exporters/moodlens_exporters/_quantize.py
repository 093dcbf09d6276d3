"""Static int8 quantisation (QDQ, per-channel), calibrated on real faces."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ._keras_to_onnx import set_metadata

logger = logging.getLogger(__name__)


def quantize_int8(fp32: Path, out: Path, calibration: np.ndarray, *, batch: int = 64) -> Path:
    """Writes an int8 QDQ copy of ``fp32`` calibrated on normalised faces (N, H, W, 1).

    The metadata of the float model is carried over.
    """
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = iter(
                [calibration[i : i + batch] for i in range(0, len(calibration), batch)]
            )

        def get_next(self):
            nxt = next(self._batches, None)
            return None if nxt is None else {"input": nxt}

    prepared = out.with_suffix(".prep.onnx")
    quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
    try:
        quantize_static(
            str(prepared),
            str(out),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
        )
    finally:
        prepared.unlink(missing_ok=True)
    props = {p.key: p.value for p in onnx.load(str(fp32)).metadata_props}
    props["moodlens.quantization"] = "int8-qdq-per-channel"
    set_metadata(out, props)
    return out
