"""Test doubles for streams: a scripted detector, recording plugins, clips, fake distributions."""

from __future__ import annotations

import json
import sys
import textwrap
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from moodlens import Box, Emotion, Face, hookimpl

EMOTIONS = list(Emotion)


def scores(top: Emotion | str, p: float = 0.7) -> dict[Emotion, float]:
    """Scores with ``p`` on one emotion and the rest shared equally."""
    top = Emotion.parse(top)
    rest = (1.0 - p) / 6
    return {e: (p if e == top else rest) for e in EMOTIONS}


def coded_frame(index: int, shape: tuple[int, int] = (120, 160)) -> np.ndarray:
    """A gray frame whose first two pixels carry its index, for the scripted detector."""
    image = np.zeros(shape, dtype=np.uint8)
    image[0, 0], image[0, 1] = index // 256, index % 256
    return image


class ScriptedDetector:
    """Stands in for EmotionDetector: frame i holds the faces ``script[i]`` says.

    ``script[i]`` is a list of (Box, scores). Counts full and near searches.
    """

    def __init__(self, script: Sequence[Sequence[tuple[Box, dict]]]) -> None:
        self.script = [list(s) for s in script]
        self.full = self.near = self.classified = 0
        self.closed = False

    def _faces(self, image: np.ndarray) -> list[tuple[Box, dict]]:
        index = int(image[0, 0]) * 256 + int(image[0, 1])
        return self.script[index] if index < len(self.script) else []

    def find_faces(self, image, *, near=None, rgb=False):
        faces = self._faces(image)
        if near is None:
            self.full += 1
            return [box for box, _ in faces]
        self.near += 1
        # Found when it overlaps a window twice the size of a known box.
        windows = [Box(b.x - b.w // 2, b.y - b.h // 2, b.w * 2, b.h * 2) for b in near]
        return [box for box, _ in faces if any(box.iou(w) > 0 for w in windows)]

    def detect(self, image, *, boxes=None, rgb=False):
        faces = self._faces(image)
        out = []
        for box in boxes:
            _, s = max(faces, key=lambda f: f[0].iou(box))
            out.append(Face(box, s))
        self.classified += len(out)
        return out

    def close(self) -> None:
        self.closed = True


class Recorder:
    """A plugin that records every call, optionally slowly or failing on chosen hooks."""

    def __init__(self, name="recorder", *, delay=0.0, fail_on=(), fail_times=10**9):
        self.name = name
        self.delay = delay
        self.fail_on = set(fail_on)
        self.fail_times = fail_times
        self.events: list[tuple[str, object]] = []
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def _record(self, hook: str, value: object) -> None:
        self.threads.add(threading.current_thread().name)
        if self.delay:
            time.sleep(self.delay)
        if hook in self.fail_on and self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError(f"{self.name} fails in {hook}")
        with self._lock:
            self.events.append((hook, value))

    @hookimpl
    def moodlens_stream_started(self, info):
        self._record("started", info)

    @hookimpl
    def moodlens_reading(self, reading):
        self._record("reading", reading)

    @hookimpl
    def moodlens_mood_changed(self, change):
        self._record("changed", change)

    @hookimpl
    def moodlens_stream_stopped(self, summary):
        self._record("stopped", summary)

    def kinds(self) -> list[str]:
        return [k for k, _ in self.events]

    def of(self, kind: str) -> list:
        return [v for k, v in self.events if k == kind]


def assert_complete_sequence(
    events: list[tuple[str, object]],
    changes: list,
    *,
    frames: int | None = None,
    reason: str | None = None,
) -> None:
    """started first, stopped last, every mood change in order, readings in frame order."""
    kinds = [k for k, _ in events]
    assert kinds[0] == "started", kinds[:3]
    assert kinds[-1] == "stopped" and kinds.count("stopped") == 1, kinds[-3:]
    assert kinds.count("started") == 1
    got_changes = [v for k, v in events if k == "changed"]
    assert got_changes == changes
    indices = [v.frame_index for k, v in events if k == "reading"]
    assert indices == sorted(set(indices)), "readings out of order or repeated"
    if frames is not None:
        assert indices == list(range(frames)), f"readings missing: got {len(indices)} of {frames}"
    if reason is not None:
        assert events[-1][1].reason == reason


def write_clip(
    path: Path,
    face: np.ndarray,
    *,
    frames: int = 60,
    fps: float = 30.0,
    size: tuple[int, int] = (320, 240),
    gap: tuple[int, int] | None = None,
    step: int = 2,
) -> Path:
    """An mp4 of ``face`` drifting right over a gray background; no face during ``gap``."""
    width, height = size
    fh, fw = face.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    assert writer.isOpened()
    for i in range(frames):
        image = np.full((height, width, 3), 110, dtype=np.uint8)
        if gap is None or not gap[0] <= i < gap[1]:
            x = 10 + (i * step) % max(1, width - fw - 20)
            y = (height - fh) // 2
            image[y : y + fh, x : x + fw] = face
        writer.write(image)
    writer.release()
    return path


def face_crop(sample_bgr: np.ndarray) -> np.ndarray:
    """The astronaut's face with some margin, small enough for test clips."""
    crop = sample_bgr[30:210, 140:310]
    return cv2.resize(crop, (120, 128), interpolation=cv2.INTER_AREA)


def make_distribution(
    root: Path,
    *,
    dist: str,
    version: str,
    entry_points: dict[str, str],
    modules: dict[str, str],
) -> Path:
    """A minimal installed distribution (dist-info + modules) under ``root``; add root to sys.path."""
    root.mkdir(parents=True, exist_ok=True)
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[moodlens.plugins]\n{lines}\n")
    for name, source in modules.items():
        (root / f"{name}.py").write_text(textwrap.dedent(source))
    return root


# A plugin module for subprocess tests: appends each call as a JSON line to ``path``.
JSONL_PLUGIN = """
import json, os, time
from moodlens import hookimpl

class JsonlPlugin:
    def __init__(self, path, delay=0.0, fail=False):
        self.path, self.delay, self.fail = path, float(delay), bool(fail)
        self.fh = open(path, "a", encoding="utf-8")

    def _write(self, kind, data):
        if self.delay:
            time.sleep(self.delay)
        if self.fail and kind != "stopped":
            raise RuntimeError("boom")
        self.fh.write(json.dumps({"kind": kind, **data}) + "\\n")
        self.fh.flush()

    @hookimpl
    def moodlens_stream_started(self, info):
        self._write("started", {"source": info.source})

    @hookimpl
    def moodlens_reading(self, reading):
        self._write("reading", {"frame": reading.frame_index})

    @hookimpl
    def moodlens_mood_changed(self, change):
        self._write("changed", change.to_dict())

    @hookimpl
    def moodlens_stream_stopped(self, summary):
        self._write("stopped", {"reason": summary.reason, "frames": summary.frames})

    def close(self):
        self.fh.close()
"""


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def env_with_path(*paths: Path) -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), env.get("PYTHONPATH", "")])
    env["MOODLENS_CONFIG"] = str(paths[0] / "no-config.toml")
    env.pop("PYTHONWARNINGS", None)
    return env


PYTHON = sys.executable
