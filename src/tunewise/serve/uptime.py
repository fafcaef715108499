"""The replica's uptime rows: ``start`` when the server is ready, a ``heartbeat`` every
``heartbeat_s`` seconds, ``stop`` on a clean shutdown (see ``tunewise.monitor.uptime`` for the spend
they imply). A failed write is logged and retried at the next beat; it never stops serving."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from typing import Any

log = logging.getLogger("tunewise.serve.uptime")


def default_instance() -> str:
    """The machine a replica bills to: TUNEWISE_INSTANCE_ID if set (e.g. the cloud instance id), else the
    host name, so several worker processes on one machine are billed once."""
    return os.environ.get("TUNEWISE_INSTANCE_ID") or socket.gethostname() or "unknown-host"


class UptimeRecorder:
    def __init__(self, store: Any, writer: Any, *, heartbeat_s: float, usd_per_hour: Any, price_source: str,
                 model: str, instance: str | None = None) -> None:
        self.store, self.writer = store, writer
        self.heartbeat_s = heartbeat_s
        self.replica_id = uuid.uuid4().hex
        self.instance = instance or default_instance()
        self._fields = {"usd_per_hour": usd_per_hour, "price_source": price_source[:200], "model": model[:200]}
        self._task: asyncio.Task | None = None

    async def _write(self, event: str) -> None:
        try:
            await self.writer.run_sync(lambda: self.store.record_uptime(event, replica_id=self.replica_id,
                                                                        instance=self.instance, **self._fields))
        except Exception as exc:  # noqa: BLE001 - uptime must never take the server down
            log.warning("uptime %s row not written: %s", event, type(exc).__name__)

    async def start(self) -> None:
        await self._write("start")
        self._task = asyncio.create_task(self._beat(), name="uptime-heartbeat")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            await self._write("heartbeat")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self._write("stop")
