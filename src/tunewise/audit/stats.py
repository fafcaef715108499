"""Summary statistics over per-example token counts kept in compact arrays."""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np

HISTOGRAM_FIRST_EDGE = 8


def histogram(values: np.ndarray) -> dict[str, list[int]]:
    """Right-open bins [edges[i], edges[i+1]) on powers of two: 0, 8, 16, 32, … up past the max.

    ``counts[i]`` examples have a length in bin i and ``sums[i]`` is their token total, so a reader
    can tell how many tokens fall above any context limit (bins are exact at the limit edges).
    """
    top = int(values.max()) if len(values) else 0
    edges = [0, HISTOGRAM_FIRST_EDGE]
    while edges[-1] <= top:
        edges.append(edges[-1] * 2)
    idx = np.searchsorted(np.asarray(edges[1:]), values, side="right")
    counts = np.bincount(idx, minlength=len(edges) - 1)[: len(edges) - 1]
    sums = np.bincount(idx, weights=values.astype(np.float64), minlength=len(edges) - 1)[: len(edges) - 1]
    return {"edges": edges, "counts": [int(c) for c in counts], "sums": [int(round(s)) for s in sums]}


def length_stats(totals: array, inputs_total: int, outputs_total: int) -> dict[str, Any]:
    values = np.frombuffer(totals, dtype=np.uint32) if len(totals) else np.zeros(0, dtype=np.uint32)
    n = len(values)
    if n == 0:
        return {"total": 0, "mean": 0.0, "p50": 0, "p95": 0, "max": 0, "min": 0,
                "input": {"total": 0, "mean": 0.0}, "output": {"total": 0, "mean": 0.0},
                "histogram": histogram(values)}
    total = int(values.sum(dtype=np.uint64))
    return {
        "total": total,
        "mean": round(total / n, 2),
        "p50": int(np.percentile(values, 50, method="nearest")),
        "p95": int(np.percentile(values, 95, method="nearest")),
        "max": int(values.max()),
        "min": int(values.min()),
        "input": {"total": inputs_total, "mean": round(inputs_total / n, 2)},
        "output": {"total": outputs_total, "mean": round(outputs_total / n, 2)},
        "histogram": histogram(values),
    }
