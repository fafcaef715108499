"""One interface, three engines: a local process pool sized to the machine (``local``), Ray on this
machine or a cluster (``ray``), or this process, one job after another (``inline``: no start-up cost,
used for small sweeps and inside jobs that must not start pools of their own).

A job names its function as ``"module:attr"`` (importable in any worker) plus keyword arguments and
its resource needs. Both engines return the same ``JobOutcome`` list in job order; a failed job is
retried once (``retries``) and then reported with its error — never silently dropped.
"""

from __future__ import annotations

import importlib
import os
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunewise.errors import BadInputError, did_you_mean, require

EXECUTORS = ("local", "ray", "inline")
JOB_THREADS_ENV = "TUNEWISE_JOB_THREADS"  # set in a worker to the threads its job may use


@dataclass(frozen=True)
class Resources:
    """What one job needs: CPU cores, GPUs, memory (MiB; Ray uses it for scheduling)."""

    cpus: float = 1.0
    gpus: float = 0.0
    memory_mb: int = 0


@dataclass(frozen=True)
class Job:
    key: str
    fn: str  # "package.module:function"
    kwargs: dict[str, Any] = field(default_factory=dict)
    resources: Resources = Resources()


@dataclass
class JobOutcome:
    key: str
    ok: bool
    result: Any = None
    error: str | None = None
    attempts: int = 1
    seconds: float = 0.0
    executor: str = "local"


def _resolve(ref: str) -> Callable[..., Any]:
    module, _, attr = ref.partition(":")
    if not module or not attr:
        raise BadInputError(f"job function '{ref}' is not of the form 'module:function'")
    return getattr(importlib.import_module(module), attr)


def _call(ref: str, kwargs: dict[str, Any], threads: int) -> tuple[bool, Any, str | None, float]:
    """Runs inside a worker: never raises, so both engines report failures the same way."""
    t0 = time.perf_counter()
    try:
        if threads > 0:
            # the job's share of the machine; tunewise code that sizes its own thread pool reads it
            os.environ[JOB_THREADS_ENV] = str(threads)
            try:
                import torch

                torch.set_num_threads(threads)
            except ImportError:
                pass
        return True, _resolve(ref)(**kwargs), None, time.perf_counter() - t0
    except Exception as exc:  # noqa: BLE001 - reported to the caller with its traceback tail
        tail = traceback.format_exc(limit=3).strip().splitlines()[-1]
        return False, None, f"{type(exc).__name__}: {exc} [{tail}]", time.perf_counter() - t0


def run_jobs(jobs: Sequence[Job], executor: str = "local", *, max_workers: int | None = None,
             ray_address: str | None = None, retries: int = 1,
             on_done: Callable[[JobOutcome], None] | None = None) -> list[JobOutcome]:
    """Run ``jobs``; return one outcome per job, in job order."""
    if executor not in EXECUTORS:
        raise BadInputError(f"unknown executor '{executor}'", fix=did_you_mean(executor, EXECUTORS))
    keys = [j.key for j in jobs]
    if len(set(keys)) != len(keys):
        raise BadInputError("job keys must be unique", why=f"got {keys}")
    if not jobs:
        return []
    runner = {"local": _run_local, "ray": _run_ray, "inline": _run_inline}[executor]
    outcomes = runner(list(jobs), max_workers=max_workers, ray_address=ray_address, retries=retries,
                      on_done=on_done)
    by_key = {o.key: o for o in outcomes}
    return [by_key[k] for k in keys]


def _run_inline(jobs: list[Job], *, max_workers: int | None, ray_address: str | None, retries: int,
                on_done: Callable[[JobOutcome], None] | None) -> list[JobOutcome]:
    out: list[JobOutcome] = []
    for job in jobs:
        for attempt in range(1, retries + 2):
            ok, result, error, secs = _call(job.fn, job.kwargs, 0)
            if ok:
                break
        outcome = JobOutcome(job.key, ok, result, error, attempt, secs, "inline")
        out.append(outcome)
        if on_done:
            on_done(outcome)
    return out


def _run_local(jobs: list[Job], *, max_workers: int | None, ray_address: str | None, retries: int,
               on_done: Callable[[JobOutcome], None] | None) -> list[JobOutcome]:
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    cores = os.cpu_count() or 1
    workers = max(1, min(max_workers or cores, len(jobs)))
    threads = max(1, cores // workers)
    out: list[JobOutcome] = []
    attempts = {j.key: 0 for j in jobs}
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        pending = {}
        for j in jobs:
            attempts[j.key] += 1
            pending[pool.submit(_call, j.fn, j.kwargs, threads)] = j
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                job = pending.pop(fut)
                try:
                    ok, result, error, secs = fut.result()
                except Exception as exc:  # noqa: BLE001 - a worker died (e.g. killed for memory)
                    ok, result, error, secs = False, None, f"worker failed: {exc!r}", 0.0
                if not ok and attempts[job.key] <= retries:
                    attempts[job.key] += 1
                    pending[pool.submit(_call, job.fn, job.kwargs, threads)] = job
                    continue
                outcome = JobOutcome(job.key, ok, result, error, attempts[job.key], secs, "local")
                out.append(outcome)
                if on_done:
                    on_done(outcome)
    return out


def _run_ray(jobs: list[Job], *, max_workers: int | None, ray_address: str | None, retries: int,
             on_done: Callable[[JobOutcome], None] | None) -> list[JobOutcome]:
    ray = require("ray", "scale")
    started_here = False
    if not ray.is_initialized():
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "configure_logging": False}
        if ray_address:
            kwargs["address"] = ray_address
        else:
            kwargs["num_cpus"] = max_workers or os.cpu_count() or 1
        ray.init(**kwargs)
        started_here = True
    try:
        remote_call = ray.remote(_call)
        attempts = {j.key: 0 for j in jobs}

        def submit(job: Job):  # noqa: ANN202 - a Ray ObjectRef
            attempts[job.key] += 1
            opts: dict[str, Any] = {"num_cpus": job.resources.cpus, "num_gpus": job.resources.gpus,
                                    "max_retries": 0}
            if job.resources.memory_mb:
                opts["memory"] = job.resources.memory_mb * 1024 * 1024
            return remote_call.options(**opts).remote(job.fn, job.kwargs, max(1, int(job.resources.cpus)))

        pending = {submit(j): j for j in jobs}
        out: list[JobOutcome] = []
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            ref = ready[0]
            job = pending.pop(ref)
            try:
                ok, result, error, secs = ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - worker crash, node loss
                ok, result, error, secs = False, None, f"ray task failed: {type(exc).__name__}: {exc}", 0.0
            if not ok and attempts[job.key] <= retries:
                pending[submit(job)] = job
                continue
            outcome = JobOutcome(job.key, ok, result, error, attempts[job.key], secs, "ray")
            out.append(outcome)
            if on_done:
                on_done(outcome)
        return out
    finally:
        if started_here:
            ray.shutdown()
