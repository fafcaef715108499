"""The micro-batcher on its own: an item that makes the model function raise fails only its own job."""

from __future__ import annotations

import asyncio

import pytest

from tunewise.serve.batching import ItemFailed, MicroBatcher


def _model(items: list[str]) -> list[str]:
    """A real function with a real failure: str.encode refuses lone surrogates, as tokenizers do."""
    return [item.encode("utf-8").decode().upper() for item in items]


def test_a_failing_item_fails_only_its_own_job():
    async def run() -> list[object]:
        b = MicroBatcher(_model, max_batch=64, max_wait_ms=50, approaching=lambda: 1)
        await b.start()
        try:
            jobs = [["a", "b"], ["c", "bad \ud800"], ["d"], ["e", "f", "g"]]
            return await asyncio.gather(*(b.submit(j) for j in jobs), return_exceptions=True)
        finally:
            await b.stop()

    out = asyncio.run(run())
    assert out[0][0] == ["A", "B"] and out[2][0] == ["D"] and out[3][0] == ["E", "F", "G"]
    assert isinstance(out[1], ItemFailed) and out[1].index == 1 and isinstance(out[1].cause, UnicodeEncodeError)


def test_a_broken_model_fails_every_job_with_its_own_error():
    def broken(items: list[str]) -> list[str]:
        raise RuntimeError("model not loaded")

    async def run() -> list[object]:
        b = MicroBatcher(broken, max_batch=8, max_wait_ms=20, approaching=lambda: 1)
        await b.start()
        try:
            return await asyncio.gather(*(b.submit([x]) for x in "abc"), return_exceptions=True)
        finally:
            await b.stop()

    out = asyncio.run(run())
    assert all(isinstance(e, RuntimeError) and "not loaded" in str(e) for e in out)
    with pytest.raises(RuntimeError):
        raise out[0]
