"""Group commit: request records from concurrent requests are written in one transaction, and each
request's response waits until its records are committed (acknowledged = stored)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any


class StoreWriter:
    def __init__(self, store: Any, *, max_rows: int = 512) -> None:
        self.store = store
        self.max_rows = max_rows
        self._queue: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tunewise-store")
        self.commits = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._worker(), name="store-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        self._executor.shutdown(wait=True)

    async def write(self, rows: list[dict[str, Any]]) -> None:
        """Returns once ``rows`` are committed; raises if the store refused them (nothing written)."""
        assert self._queue is not None, "writer not started"
        fut = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((rows, fut))
        await fut

    async def run_sync(self, fn, *args):  # noqa: ANN001, ANN201 - other store calls, off the event loop
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _worker(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            group = [await self._queue.get()]
            n = len(group[0][0])
            while n < self.max_rows:
                try:
                    item = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
                group.append(item)
                n += len(item[0])
            rows = [r for g in group for r in g[0]]
            try:
                await loop.run_in_executor(self._executor, self.store.insert_requests, rows)
            except Exception:  # noqa: BLE001 - fall back to one transaction per request
                for g_rows, fut in group:
                    try:
                        await loop.run_in_executor(self._executor, self.store.insert_requests, g_rows)
                    except Exception as exc:  # noqa: BLE001
                        if not fut.done():
                            fut.set_exception(exc)
                        continue
                    if not fut.done():
                        fut.set_result(None)
                continue
            self.commits += 1
            for _, fut in group:
                if not fut.done():
                    fut.set_result(None)
