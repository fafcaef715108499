"""Dynamic micro-batching: concurrent requests are queued (bounded) and the model runs them together.

One worker task takes the first waiting job, then drains whatever else is waiting, and waits at most
``max_wait_ms`` for more until ``max_batch`` items are collected, but only while other requests are
on their way (``approaching()``: accepted by the server, not yet submitted): a lone request runs at
once instead of paying the wait. The model call runs in a dedicated thread so the event loop keeps
accepting requests. Each job gets its results and its share of the
model time (by item count).

One client's bad item never fails another's request: when a batch of several items raises, every
item is run again on its own; jobs whose items all succeed get their results, and a job holding a
failing item gets ``ItemFailed`` naming that item. Only when every item fails alone (the model
itself is broken) does every job get the original error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any


class Overloaded(Exception):
    """The queue is full; the caller should answer 503 with Retry-After."""


class ItemFailed(Exception):
    """Item ``index`` of this job failed in the model on its own (the other jobs were served)."""

    def __init__(self, index: int, cause: BaseException) -> None:
        super().__init__(f"item {index}: {type(cause).__name__}")
        self.index, self.cause = index, cause


@dataclass
class _Job:
    items: Sequence[Any]
    future: asyncio.Future = field(repr=False)


@dataclass
class BatchStats:
    batches: int = 0
    items: int = 0
    sizes: list[int] = field(default_factory=list)


class MicroBatcher:
    def __init__(self, fn: Callable[[list[Any]], list[Any]], *, max_batch: int = 32, max_wait_ms: float = 4.0,
                 max_queue: int = 1024, name: str = "model", on_batch: Callable[[int, float], None] | None = None,
                 approaching: Callable[[], int] | None = None) -> None:
        self.fn = fn
        self.approaching = approaching
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self.on_batch = on_batch
        self._queue: asyncio.Queue[_Job] | None = None
        self._pending_items = 0
        self._task: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"tunewise-{name}")
        self.stats = BatchStats()

    @property
    def depth(self) -> int:
        return self._pending_items

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._worker(), name="micro-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def submit(self, items: Sequence[Any]) -> tuple[list[Any], float]:
        """Results for ``items`` and this job's share of model seconds."""
        if self._queue is None:
            raise RuntimeError("batcher not started")
        if self._pending_items + len(items) > self.max_queue:
            raise Overloaded(f"{self._pending_items} items already waiting for the model")
        fut = asyncio.get_running_loop().create_future()
        self._pending_items += len(items)
        self._queue.put_nowait(_Job(items, fut))
        return await fut

    async def _collect(self) -> list[_Job]:
        assert self._queue is not None
        jobs = [await self._queue.get()]
        n = len(jobs[0].items)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        while n < self.max_batch:
            try:
                job = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0 or (self.approaching is not None and self.approaching() <= 0):
                    break
                try:
                    job = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            jobs.append(job)
            n += len(job.items)
        return jobs

    async def _worker(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = await self._collect()
            flat = [x for j in jobs for x in j.items]
            self._pending_items -= len(flat)
            t0 = time.perf_counter()
            try:
                results = await loop.run_in_executor(self._executor, self.fn, flat)
                if len(results) != len(flat):
                    raise RuntimeError(f"model returned {len(results)} results for {len(flat)} inputs")
            except Exception as exc:  # noqa: BLE001 - isolate the failing item, serve the rest
                await self._one_by_one(jobs, exc)
                continue
            elapsed = time.perf_counter() - t0
            self.stats.batches += 1
            self.stats.items += len(flat)
            if len(self.stats.sizes) < 100000:
                self.stats.sizes.append(len(flat))
            if self.on_batch:
                self.on_batch(len(flat), elapsed)
            i = 0
            for j in jobs:
                k = len(j.items)
                if not j.future.done():
                    j.future.set_result((results[i:i + k], elapsed * k / len(flat)))
                i += k

    async def _one_by_one(self, jobs: list[_Job], batch_exc: BaseException) -> None:
        loop = asyncio.get_running_loop()
        flat = [x for j in jobs for x in j.items]
        outcomes: list[tuple[Any, float, BaseException | None]] = []
        if len(flat) > 1:
            for item in flat:
                t0 = time.perf_counter()
                try:
                    res = await loop.run_in_executor(self._executor, self.fn, [item])
                    if len(res) != 1:
                        raise RuntimeError(f"model returned {len(res)} results for 1 input")
                    outcomes.append((res[0], time.perf_counter() - t0, None))
                except Exception as exc:  # noqa: BLE001
                    outcomes.append((None, time.perf_counter() - t0, exc))
        if not outcomes or all(err is not None for _, _, err in outcomes):
            for j in jobs:
                if not j.future.done():
                    j.future.set_exception(batch_exc)
            return
        i = 0
        for j in jobs:
            mine = outcomes[i:i + len(j.items)]
            i += len(j.items)
            if j.future.done():
                continue
            bad = next((n for n, (_, _, err) in enumerate(mine) if err is not None), None)
            if bad is not None:
                j.future.set_exception(ItemFailed(bad, mine[bad][2]))
            else:
                j.future.set_result(([r for r, _, _ in mine], sum(s for _, s, _ in mine)))
