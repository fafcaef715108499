"""Server-sent events in OpenAI's ``chat.completion.chunk`` format, fed from the model thread.

Policy for output guardrails while streaming: the answer is sent as it is generated; the output checks
(valid JSON when asked for, PII redaction for storage) run on the whole answer once it is complete,
exactly as without streaming (where they flag and redact the stored copy, never the answer). Their
decisions arrive in the last content chunk's ``tunewise`` field, and the stored row is the whole,
redacted answer. Input guardrails run before the first byte is sent, so a blocked request is an
ordinary 400 error, never a stream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any


def sse(payload: dict[str, Any] | str) -> bytes:
    """One server-sent event (``data: ...`` and a blank line)."""
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return f"data: {data}\n\n".encode()


DONE = sse("[DONE]")


def chunk(rid: str, created: int, model: str, delta: dict[str, Any], finish: str | None = None,
          **extra: Any) -> dict[str, Any]:
    return {"id": f"chatcmpl-{rid}", "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}


def usage_chunk(rid: str, created: int, model: str, prompt: int, completion: int) -> dict[str, Any]:
    """The extra last chunk of ``stream_options.include_usage``: no choices, the usage of the whole answer."""
    return {"id": f"chatcmpl-{rid}", "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                                     "total_tokens": prompt + completion}}


class Pieces:
    """Carries answer text from the model thread to the event loop (thread-safe ``put``)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[str] = asyncio.Queue()

    def put(self, text: str) -> None:  # called in the model thread
        self.loop.call_soon_threadsafe(self.queue.put_nowait, text)

    async def until(self, task: asyncio.Future) -> AsyncIterator[str]:
        """Yield pieces as they arrive until ``task`` (the generation) is done and the queue is empty."""
        while True:
            getter = asyncio.ensure_future(self.queue.get())
            done, _ = await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                yield getter.result()
                continue
            getter.cancel()
            while not self.queue.empty():
                yield self.queue.get_nowait()
            return
