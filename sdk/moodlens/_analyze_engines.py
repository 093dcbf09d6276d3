"""Batch analysis, engines: run Tasks on a local process pool or on Ray actors.

Both yield TaskResults as they complete, in any order, and both hold one Worker (one
single-threaded detector) per process or actor. Neither schedules anything itself:
the local engine is ``concurrent.futures.ProcessPoolExecutor``; the Ray engine places
actors with Ray and hands each one Task at a time as it becomes free (what
``ray.util.ActorPool`` does, keeping which Task an actor was running so that an actor
that dies fails that Task only).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ._analyze_inputs import AnalyzeOptions, Task
from ._analyze_worker import TaskResult, Worker, init_process, run_in_process
from ._errors import OptionsError, require

logger = logging.getLogger(__name__)

ENGINES = ("local", "ray")
# A Task whose worker process died is tried once more before it is reported failed.
_ATTEMPTS = 2
_DIED = (
    "the worker process died on it (a crash in the video decoder, or, when every source "
    "fails so, a script that calls analyze without an `if __name__ == '__main__':` guard)"
)


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def run_local(tasks: Sequence[Task], options: AnalyzeOptions, workers: int) -> Iterator[TaskResult]:
    """Runs Tasks on ``workers`` processes; yields results as they complete.

    Processes are spawned (not forked): a fork of a process that already runs threads
    (ONNX Runtime's, pyarrow's) can deadlock. A Task whose process dies (a decoder crash)
    is retried once on a fresh pool, then reported failed.
    """
    context = multiprocessing.get_context("spawn")
    attempts = dict.fromkeys(range(len(tasks)), 0)
    pending = list(range(len(tasks)))
    while pending:
        executor = ProcessPoolExecutor(
            max_workers=max(1, min(workers, len(pending))),
            mp_context=context,
            initializer=init_process,
            initargs=(options,),
        )
        broken: list[int] = []
        finished = False
        try:
            futures: dict[Future[TaskResult], int] = {}
            for i in pending:
                attempts[i] += 1
                futures[executor.submit(run_in_process, tasks[i])] = i
            remaining = set(futures)
            while remaining:
                done, remaining = wait(remaining, return_when=FIRST_COMPLETED)
                for future in done:
                    i = futures[future]
                    try:
                        yield future.result()
                    except BrokenProcessPool:
                        if attempts[i] < _ATTEMPTS:
                            broken.append(i)
                        else:
                            yield TaskResult(tasks[i], error=_DIED)
            finished = True
        finally:
            if not finished:  # interrupted (Ctrl-C, SIGTERM) or closed early: stop now
                _stop_processes(executor)
            executor.shutdown(wait=True, cancel_futures=True)
        pending = broken
        if broken:
            logger.warning("a worker process died; retrying %d task(s) once", len(broken))


def _stop_processes(executor: ProcessPoolExecutor) -> None:
    """Ends a pool's processes at once, without waiting for the Tasks they are running.

    ``shutdown`` alone would let every segment in flight run to its end (seconds to
    minutes) only to throw its result away; ``docker stop`` waits 10 s before SIGKILL.
    """
    terminate = getattr(executor, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        if process.is_alive():
            process.terminate()


def run_ray(
    tasks: Sequence[Task], options: AnalyzeOptions, workers: int | None, address: str | None
) -> Iterator[TaskResult]:
    """Runs Tasks on Ray actors (one Worker each); yields results as they complete.

    Args:
        tasks: the work.
        options: model and face finder of every actor's detector.
        workers: actors to create; None for one per CPU of the Ray cluster.
        address: a Ray cluster address ("auto", "ray://head:10001", "10.0.0.5:6379");
            None starts a local Ray instance (or uses the one already initialised).

    Raises:
        MissingDependencyError: Ray is not installed.
        OptionsError: the cluster cannot be reached.
    """
    ray = require("ray", extra="ray", feature="the ray engine of moodlens analyze")
    if not tasks:
        return
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
        if address is None and workers:
            kwargs["num_cpus"] = workers
        # ray.init replaces the SIGTERM handler with sys.exit(15); a caller's own handler
        # (the command line's: SIGTERM stops like Ctrl-C) is put back after it.
        previous = _sigterm_handler()
        try:
            ray.init(address=address, **kwargs)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            cause = f" ({str(exc.__cause__).split('. ')[0]})" if exc.__cause__ else ""
            raise OptionsError(
                f"cannot connect to the Ray cluster at {address!r}: {exc}{cause}. Start one "
                "with `ray start --head` and pass the address it prints (with token "
                "authentication, also set RAY_AUTH_MODE=token and make the cluster's token "
                "available), or leave --ray-address out for a local Ray instance."
            ) from exc
        finally:
            if callable(previous):
                signal.signal(signal.SIGTERM, previous)
        started = True
    try:
        yield from _ray_actor_loop(ray, tasks, options, workers)
    finally:
        if started:
            ray.shutdown()


def _sigterm_handler() -> Any:
    """The SIGTERM handler now; None off the main thread (where none can be set)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.getsignal(signal.SIGTERM)


def _ray_actor_loop(
    ray: Any, tasks: Sequence[Task], options: AnalyzeOptions, workers: int | None
) -> Iterator[TaskResult]:
    count = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    count = max(1, min(count, len(tasks)))
    # Ray restarts an actor whose process died; the Task it was running is reported failed.
    remote_worker = ray.remote(num_cpus=1, max_restarts=2)(Worker)
    actors = [remote_worker.remote(options) for _ in range(count)]
    queue = list(reversed(tasks))
    running: dict[Any, tuple[Any, Task]] = {}
    try:
        for actor in actors:
            if queue:
                task = queue.pop()
                running[actor.run.remote(task)] = (actor, task)
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            actor, task = running.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except ray.exceptions.RayError as exc:
                result = TaskResult(task, error=f"the Ray worker failed on it: {exc}")
            if queue:
                following = queue.pop()
                running[actor.run.remote(following)] = (actor, following)
            yield result
    finally:
        for actor in actors:
            ray.kill(actor)
