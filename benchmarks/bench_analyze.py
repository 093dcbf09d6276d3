"""moodlens analyze throughput: 1 worker vs one per core vs Ray, side by side in one run.

Writes ``--clips`` clips of equal length (the bundled sample face drifting over a noisy
background), then analyses all of them with ``moodlens.analyze`` (every frame):

- ``local, 1 worker``: a process pool of one;
- ``local, N workers``: one process per core (the default);
- ``ray, N actors``: on a local Ray instance started once before the timed runs (its
  start-up is reported on its own line: a cluster is started once, not per job).

Each worker holds one detector with one ONNX Runtime thread and one OpenCV thread.
Runs alternate between the engines (``--repeats`` rounds), so that load from other work
on the machine hits all of them alike; medians and ratios of medians are printed, with
the load average before and after. Peak memory per worker is the largest VmHWM (peak
resident set) of the worker processes, polled from /proc while they run (Linux).

    python benchmarks/bench_analyze.py [--clips 4] [--frames 240] [--size 320x240]
        [--repeats 3] [--markdown benchmarks/results/analyze.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from importlib import resources
from pathlib import Path

import cv2
import moodlens
import numpy as np

try:
    from _common import command_line, environment
except ImportError:  # run from elsewhere than benchmarks/
    from benchmarks._common import command_line, environment  # type: ignore[no-redef]


def write_clip(path: Path, frames: int, width: int, height: int, seed: int) -> Path:
    sample = cv2.imread(str(resources.files("moodlens.samples").joinpath("astronaut.jpg")))
    face = cv2.resize(sample[30:210, 140:310], (120, 128), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(seed)
    background = rng.integers(60, 160, (height, width, 3), dtype=np.uint8)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (width, height))
    for i in range(frames):
        frame = background.copy()
        x = int((width - 120) * (0.5 + 0.4 * np.sin(i / 20)))
        y = int((height - 128) * (0.5 + 0.3 * np.cos(i / 25)))
        frame[y : y + 128, x : x + 120] = face
        writer.write(frame)
    writer.release()
    return path


class PeakMemory:
    """Largest peak RSS (VmHWM) and total CPU time of the processes ``match`` picks."""

    def __init__(self, match) -> None:
        self.match, self.peaks, self.cpu = match, {}, {}
        self._tick = os.sysconf("SC_CLK_TCK")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        while not self._stop.wait(0.1):
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit():
                    continue
                try:
                    cmdline = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ")
                    ppid, hwm = 0, 0
                    for line in Path(entry.path, "status").read_text().splitlines():
                        if line.startswith("PPid:"):
                            ppid = int(line.split()[1])
                        elif line.startswith("VmHWM:"):
                            hwm = int(line.split()[1]) * 1024
                except OSError:
                    continue
                if self.match(ppid, cmdline.decode(errors="replace")):
                    pid = int(entry.name)
                    self.peaks[pid] = max(self.peaks.get(pid, 0), hwm)
                    try:
                        fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    self.cpu[pid] = (int(fields[11]) + int(fields[12])) / self._tick

    @property
    def cpu_seconds(self) -> float:
        """User + system CPU time of the workers (as last polled)."""
        return sum(self.cpu.values())

    @property
    def per_worker_mib(self) -> float:
        return max(self.peaks.values(), default=0) / 2**20


def local_children(ppid: int, cmdline: str) -> bool:
    return ppid == os.getpid() and "multiprocessing" in cmdline


def ray_actors(ppid: int, cmdline: str) -> bool:
    return cmdline.startswith("ray::Worker")


def run_once(clips: Path, engine: str, workers: int) -> tuple[float, int, float, float, float]:
    match = ray_actors if engine == "ray" else local_children
    with PeakMemory(match) as memory:
        start = time.perf_counter()
        table = moodlens.analyze(clips, engine=engine, workers=workers, progress=False)
        seconds = time.perf_counter() - start
    summary = table.attrs["summary"]
    if (summary.status != "ok").any():
        raise SystemExit(f"a clip failed: {summary[summary.status != 'ok'].to_dict('records')}")
    busy = float(summary.seconds.sum())  # wall time the workers spent on tasks, summed
    return (
        seconds,
        int(summary.frames_sampled.sum()),
        memory.per_worker_mib,
        memory.cpu_seconds,
        busy,
    )


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clips", type=int, default=4)
    p.add_argument("--frames", type=int, default=240, help="frames per clip")
    p.add_argument("--size", default="320x240")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--workers", type=int, default=len(os.sched_getaffinity(0)), help="N (default: cores)"
    )
    p.add_argument("--no-ray", action="store_true", help="leave the Ray engine out")
    p.add_argument(
        "--ray-worker-niceness",
        type=int,
        default=0,
        help="RAY_worker_niceness for the Ray instance: Ray runs its workers 15 nicer than "
        "the driver by default; 0 (the default here) gives them the driver's priority, as the "
        "local engine's processes have",
    )
    p.add_argument("--markdown", type=Path, help="also write the result table here")
    args = p.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    env = environment(threads=1)
    load_before = load()
    configs = [("local", 1), ("local", args.workers)]
    ray_start = None
    if not args.no_ray:
        import ray

        os.environ["RAY_worker_niceness"] = str(args.ray_worker_niceness)
        t = time.perf_counter()
        ray.init(num_cpus=args.workers, include_dashboard=False, logging_level="ERROR")
        ray_start = time.perf_counter() - t
        configs.append(("ray", args.workers))
    times: dict[tuple[str, int], list[float]] = {c: [] for c in configs}
    memory: dict[tuple[str, int], float] = dict.fromkeys(configs, 0.0)
    cpu: dict[tuple[str, int], list[float]] = {c: [] for c in configs}
    overlap: dict[tuple[str, int], list[float]] = {c: [] for c in configs}
    frames = 0
    with tempfile.TemporaryDirectory() as folder:
        for i in range(args.clips):
            write_clip(Path(folder, f"clip{i}.mp4"), args.frames, width, height, seed=i)
        for round_ in range(args.repeats):
            for config in configs:
                seconds, frames, mib, cpu_s, busy = run_once(Path(folder), *config)
                times[config].append(seconds)
                overlap[config].append(busy / seconds)
                cpu[config].append(cpu_s)
                memory[config] = max(memory[config], mib)
                rate = frames / seconds
                print(f"round {round_ + 1} {config[0]:5} x{config[1]}: {rate:6.1f} frames/s")
    if ray_start is not None:
        import ray

        ray.shutdown()
    load_after = load()
    base = statistics.median(times[configs[0]])
    local_n = statistics.median(times[configs[1]])
    lines = [
        f"{args.clips} clips x {args.frames} frames {width}x{height}, every frame analysed "
        f"({frames} frames a run); median of {args.repeats} alternating runs; one ONNX Runtime "
        "and one OpenCV thread per worker.",
        "",
        f"Command: `{command_line()}`  ",
        f"Machine: {env['cpu']}, {env['cpu_count']} logical CPUs; Python {env['python']}; "
        f"onnxruntime {env['versions'].get('onnxruntime')}, opencv "
        f"{env['versions'].get('opencv-python-headless')}"
        + (f", ray {moodlens_ray_version()}" if ray_start is not None else "")
        + "  ",
        f"Load average (`uptime`): {load_before} before, {load_after} after (the machine is "
        "shared with other work).",
        "",
        "| engine | workers | frames/s (median) | seconds (median) | vs 1 worker | vs local "
        "| peak memory per worker | worker CPU ms per frame | workers busy at once |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for config in configs:
        median = statistics.median(times[config])
        cpu_ms = 1000 * statistics.median(cpu[config]) / frames
        at_once = statistics.median(overlap[config])
        lines.append(
            f"| {config[0]} | {config[1]} | {frames / median:.1f} | {median:.2f} | "
            f"x{base / median:.2f} | "
            + (f"{local_n / median:.2f}" if config[0] == "ray" else "")
            + f" | {memory[config]:.0f} MiB | {cpu_ms:.1f} | {at_once:.2f} |"
        )
    lines += [
        "",
        "Worker CPU time per frame (user + system, from /proc, start-up included) does not "
        "depend on other load: equal values mean the workers do no extra work in parallel, "
        "so on idle cores the speed-up is bounded only by start-up and the last task. "
        "Workers busy at once is the workers' summed task time over the run's wall time: "
        "near the worker count when they really run in parallel.",
    ]
    if ray_start is not None:
        lines += [
            "",
            f"Ray instance start-up (once, not in the timings): {ray_start:.1f} s. Ray "
            f"workers ran with RAY_worker_niceness={args.ray_worker_niceness} (Ray's default "
            "is 15: its workers yield to every other process on the machine).",
        ]
    text = "\n".join(lines)
    print()
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")


def moodlens_ray_version() -> str:
    import ray

    return str(ray.__version__)


if __name__ == "__main__":
    main()
