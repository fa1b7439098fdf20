"""Where the runs of a sweep execute: in this process, in a local process pool, or as Ray tasks.

gin bindings never cross a process boundary (gin is process-global and spawned workers start empty), so a task is
a plain dict: gin files, binding strings, the run directory, the resume flag and the environment variables the run
needs (e.g. ``POLIBENCH_PUSHT_ZARR``). :func:`run_task` parses it in the worker itself.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Protocol, Sequence, TypedDict

import gin

from polibench.config import parse
from polibench.experiment import run
from polibench.interrupts import sigterm_as_interrupt

#: Environment variables handed to every worker (a remote Ray node does not share the driver's environment).
ENV_PREFIX = "POLIBENCH_"


class Task(TypedDict):
    gin_files: list[str]
    gin_params: list[str]
    out_dir: str
    resume: bool
    env: dict[str, str]


def make_task(gin_files: Sequence[str], gin_params: Sequence[str], out_dir: Path, resume: bool) -> Task:
    env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}
    return Task(gin_files=list(gin_files), gin_params=list(gin_params), out_dir=str(out_dir), resume=resume, env=env)


def run_task(task: Task) -> dict[str, Any]:
    """Train and evaluate one run in the calling process; returns its evaluation summary.

    Module-level and import-only, so process pools and Ray can ship it by reference. A run slot the sweep started
    but that stopped before its first checkpoint starts again from step 0: the slot is the sweep's own."""
    os.environ.update(task["env"])
    parse(task["gin_files"], task["gin_params"])
    try:
        with sigterm_as_interrupt():
            return run(Path(task["out_dir"]), resume=task["resume"], progress=False, restart_unstarted=True)
    finally:
        gin.clear_config()


class Executor(Protocol):
    def map(self, tasks: Sequence[Task]) -> Iterator[tuple[int, dict[str, Any]]]:
        """Run every task; yield ``(index, summary)`` as each finishes, in any order."""
        ...


@dataclass(frozen=True)
class LocalExecutor:
    """One run after another in this process (``workers`` 1), or a pool of ``workers`` spawned processes."""

    workers: int = 1

    def map(self, tasks: Sequence[Task]) -> Iterator[tuple[int, dict[str, Any]]]:
        if self.workers <= 1:
            for i, task in enumerate(tasks):
                yield i, run_task(task)
            return
        # spawn, not fork: torch and its thread pools do not survive a fork of a process that already used them
        pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        try:
            futures = {pool.submit(run_task, task): i for i, task in enumerate(tasks)}
            for future in as_completed(futures):
                yield futures[future], future.result()
        except KeyboardInterrupt:
            _interrupt_workers(pool)
            raise KeyboardInterrupt("sweep interrupted: every running run saved a checkpoint and stopped; the same "
                                    "command resumes the sweep") from None
        except GeneratorExit:  # the caller stopped reading (interrupted itself): its workers stop too
            _interrupt_workers(pool)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # waits for the workers, so none trains on unseen


def _interrupt_workers(pool: ProcessPoolExecutor) -> None:
    """Ctrl-C for every worker of ``pool`` (a signal sent to the sweep's process alone, SIGTERM included, reaches
    no worker): each run saves a checkpoint and stops."""
    for process in list((pool._processes or {}).values()):  # the pool offers no public list of its processes
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGINT)


@dataclass(frozen=True)
class RayExecutor:
    """Every run as a Ray task (one CPU each) on the cluster at ``address``, or on a local instance.

    An already initialised Ray is used as it is; one started here is shut down at the end. Workers import
    polibench, so the cluster's Python environment must have it installed."""

    address: str | None = None

    def map(self, tasks: Sequence[Task]) -> Iterator[tuple[int, dict[str, Any]]]:
        try:
            import ray
        except ImportError:
            raise ImportError("--executor ray needs Ray: pip install 'polibench[ray]'") from None
        started = not ray.is_initialized()
        if started:
            ray.init(address=self.address)
        remote = ray.remote(num_cpus=1, max_retries=0)(run_task)
        index = {remote.remote(task): i for i, task in enumerate(tasks)}
        pending = list(index)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                yield index[done[0]], ray.get(done[0])
        finally:
            for ref in pending:
                ray.cancel(ref)
            if started:
                ray.shutdown()


def make_executor(name: str, workers: int = 1, ray_address: str | None = None) -> Executor:
    if workers < 1:
        raise ValueError(f"--workers must be at least 1 (runs at a time), got {workers}")
    if name == "local":
        if ray_address:
            raise ValueError("--ray-address needs --executor ray")
        return LocalExecutor(workers)
    if name == "ray":
        return RayExecutor(ray_address)
    raise ValueError(f"unknown executor {name!r}; valid: local, ray")
