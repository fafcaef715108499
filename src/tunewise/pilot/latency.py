"""Inference throughput at batch sizes and single-request latency percentiles (warm-up excluded)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def single_request(call: Callable[[list[str]], Any], texts: Sequence[str], *, n: int = 50,
                   warmup: int = 5, time_budget_s: float = 20.0) -> dict[str, Any]:
    """Latency of one-item requests in ms: p50/p90/p95/p99 over ``n`` timed calls after ``warmup``
    untimed ones (stops early, and says so, when ``time_budget_s`` runs out)."""
    if not texts:
        return {}
    for i in range(warmup):
        call([texts[i % len(texts)]])
    times: list[float] = []
    t_end = time.perf_counter() + time_budget_s
    for i in range(n):
        t0 = time.perf_counter()
        call([texts[i % len(texts)]])
        times.append((time.perf_counter() - t0) * 1000)
        if time.perf_counter() > t_end and len(times) >= 5:
            break
    arr = np.asarray(times)
    return {"p50": round(float(np.percentile(arr, 50)), 3), "p90": round(float(np.percentile(arr, 90)), 3),
            "p95": round(float(np.percentile(arr, 95)), 3), "p99": round(float(np.percentile(arr, 99)), 3),
            "mean": round(float(arr.mean()), 3), "n": len(times), "warmup_excluded": warmup,
            "unit": "ms per request (batch size 1)", "requested_n": n}


def throughput(call: Callable[[list[str]], Any], texts: Sequence[str], batch_sizes: Sequence[int], *,
               max_items: int = 256, time_budget_s: float = 20.0) -> dict[str, Any]:
    """Examples/s when ``call`` gets batches of each size (one untimed warm-up batch per size)."""
    out: dict[str, Any] = {}
    items = list(texts)[:max_items]
    if not items:
        return out
    per_size_budget = time_budget_s / max(1, len(batch_sizes))
    for bs in batch_sizes:
        call(items[:bs])
        done, t0 = 0, time.perf_counter()
        for s in range(0, len(items), bs):
            call(items[s:s + bs])
            done += len(items[s:s + bs])
            if time.perf_counter() - t0 > per_size_budget and done >= bs:
                break
        dt = time.perf_counter() - t0
        out[str(bs)] = {"examples_per_s": round(done / dt, 3), "examples": done, "seconds": round(dt, 3)}
    return out
