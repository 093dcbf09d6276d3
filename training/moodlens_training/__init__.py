"""moodlens training tools: FER2013/FER+/image-folder loaders, models, training, evaluation.

Needs the ``train`` extra: ``pip install 'moodlens[train]'``.
"""

from ._data import LABELS, DataError, FaceSet, load_faces, load_fer2013_csv, load_image_folder

__all__ = ["LABELS", "DataError", "FaceSet", "load_faces", "load_fer2013_csv", "load_image_folder"]
