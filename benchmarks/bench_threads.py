"""Throughput of one EmotionDetector shared by threads: 1 thread vs 2 (or more).

One detector with ``threads=1`` ONNX Runtime sessions is shared by N Python threads,
each calling it in a loop; calls per second are compared with one thread. Three
workloads, from model-bound to face-finder-bound:

- ``classify``: ``classify()`` on a batch of face crops (ONNX Runtime only);
- ``detect-boxes``: ``detect(image, boxes=...)``, a known face cropped and scored
  (what a stream does between full searches);
- ``detect``: full ``detect()`` on the bundled 512x512 sample (face finding + scoring);
- ``control``: no moodlens, an OpenCV blur that releases the GIL: what 2 threads can get
  from the machine at that moment (on a machine busy with other work, less than x2).

Rounds alternate the thread counts (1, 2, 2, 1, ...) so that load from other work on the
machine hits every count alike; the table gives medians over rounds. ``--with-lock``
adds a column with a lock around every ONNX Runtime call, as ``EmotionModel.run`` had
before issue 9, measured in the same rounds.

OpenCV's own thread pool is set to ``--cv-threads`` (default 1) so that one Python thread
uses one core; with OpenCV's default, one thread already spreads resizing and the Haar
cascade over every core, and a second thread has little left to use.

    python benchmarks/bench_threads.py [--workers 1 2] [--rounds 7] [--seconds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import environment, markdown_table, print_environment, write_json  # noqa: E402
from moodlens import EmotionDetector  # noqa: E402

WORKLOADS = ("control", "classify", "detect-boxes", "detect")


def workloads(detector: EmotionDetector, batch: int) -> dict[str, Callable[[], Any]]:
    sample = cv2.imread(str(resources.files("moodlens.samples").joinpath("astronaut.jpg")))
    (face,) = detector.detect(sample)
    x, y, w, h = face.box
    crop = cv2.cvtColor(sample[y : y + h, x : x + w], cv2.COLOR_BGR2GRAY)
    rng = np.random.default_rng(0)
    crops = np.stack(  # the face, jittered in brightness, at the model's input size
        [
            cv2.resize(np.clip(crop * rng.uniform(0.8, 1.2), 0, 255).astype(np.uint8), (48, 48))
            for _ in range(batch)
        ]
    )
    box = [tuple(face.box)]
    return {
        "control": lambda: cv2.GaussianBlur(sample, (0, 0), 3),
        "classify": lambda: detector.classify(crops),
        "detect-boxes": lambda: detector.detect(sample, boxes=box),
        "detect": lambda: detector.detect(sample),
    }


def throughput(call: Callable[[], Any], workers: int, seconds: float) -> tuple[float, float]:
    """Calls per second of ``workers`` threads calling ``call`` for about ``seconds``, and
    the cores they kept busy (process CPU time / wall time)."""
    counts = [0] * workers
    start = threading.Barrier(workers + 1)
    stop = threading.Event()

    def work(i: int) -> None:
        start.wait()
        n = 0
        while not stop.is_set():
            call()
            n += 1
        counts[i] = n

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    start.wait()
    began, cpu = time.perf_counter(), time.process_time()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    return sum(counts) / wall, (time.process_time() - cpu) / wall


class OldLock:
    """Puts a lock around the detector's ONNX Runtime calls (the pre-issue-9 behaviour)."""

    def __init__(self, detector: EmotionDetector) -> None:
        self._session = detector._live_model._session  # benchmark only: reach inside
        self._run = self._session.run
        self._lock = threading.Lock()

    def _locked(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return self._run(*args, **kwargs)

    def __enter__(self) -> None:
        self._session.run = self._locked

    def __exit__(self, *exc: object) -> None:
        self._session.run = self._run


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    p.add_argument("--rounds", type=int, default=7, help="rounds per workload (median)")
    p.add_argument("--seconds", type=float, default=2.0, help="length of one measurement")
    p.add_argument("--batch", type=int, default=8, help="crops per classify() call")
    p.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads")
    p.add_argument("--cv-threads", type=int, default=1, help="OpenCV threads (cv2)")
    p.add_argument("--with-lock", action="store_true", help="also measure the old lock")
    p.add_argument("--json", help="write the results here too")
    args = p.parse_args()

    cv2.setNumThreads(args.cv_threads)
    env = environment(args.threads)
    env["cv_threads"] = cv2.getNumThreads()
    base = min(args.workers)
    results: dict[str, dict[str, list[tuple[float, float]]]] = {}
    with EmotionDetector(threads=args.threads) as detector:
        calls = workloads(detector, args.batch)
        for name in args.workloads:
            call = calls[name]
            for _ in range(20):  # warm-up: sessions, thread-local cascades, caches
                call()
            runs: dict[str, list[tuple[float, float]]] = {str(n): [] for n in args.workers}
            locked = [n for n in args.workers if n != base] if args.with_lock else []
            runs.update({f"{n} locked": [] for n in locked})
            for r in range(args.rounds):
                order = [str(n) for n in args.workers] + [f"{n} locked" for n in locked]
                for key in order if r % 2 == 0 else order[::-1]:
                    n = int(key.split()[0])
                    if key.endswith("locked"):
                        with OldLock(detector):
                            runs[key].append(throughput(call, n, args.seconds))
                    else:
                        runs[key].append(throughput(call, n, args.seconds))
            results[name] = runs
            print(f"{name}: done", file=sys.stderr)
    load_end = os.getloadavg()[0] if hasattr(os, "getloadavg") else None

    header = ["workload", *[f"{n} thread{'s' * (n > 1)} (calls/s)" for n in args.workers]]
    header += [f"{n} vs {base}" for n in args.workers if n != base]
    header += [f"cores busy, {n} thread{'s' * (n > 1)}" for n in args.workers]
    if args.with_lock:
        header += [f"{n} threads, old lock: vs {base}" for n in args.workers if n != base]
    rows = []
    for name, runs in results.items():
        med = {k: statistics.median(r[0] for r in v) for k, v in runs.items()}
        busy = {k: statistics.median(r[1] for r in v) for k, v in runs.items()}
        row: list[Any] = [name if name != "classify" else f"classify ({args.batch} crops)"]
        row += [f"{med[str(n)]:.1f}" for n in args.workers]
        row += [f"x{med[str(n)] / med[str(base)]:.2f}" for n in args.workers if n != base]
        row += [f"{busy[str(n)]:.2f}" for n in args.workers]
        if args.with_lock:
            row += [
                f"x{med[f'{n} locked'] / med[str(base)]:.2f}" for n in args.workers if n != base
            ]
        rows.append(row)
    print(
        f"\nOne shared EmotionDetector(threads={args.threads}), OpenCV threads "
        f"{env['cv_threads']}; median of {args.rounds} alternating rounds of "
        f"{args.seconds:g} s each.\n"
    )
    print(markdown_table(header, rows))
    print()
    print_environment(env)
    if load_end is not None:
        print(f"Load average at the end: {load_end:.2f}")
    if args.json:
        write_json(
            args.json,
            {
                "environment": env,
                "load_average_1m_at_end": load_end,
                "results": results,
                "table": {"header": header, "rows": rows},
            },
        )


if __name__ == "__main__":
    main()
