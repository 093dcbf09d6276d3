"""``python -m moodlens_exporters.blazeface``: BlazeFace .tflite -> ONNX (see ``_blazeface``)."""

from ._blazeface import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
