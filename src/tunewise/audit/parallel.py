"""Parallel audit of large JSONL files: byte ranges cut at line starts, one worker process per core.

Each worker parses, validates, counts tokens, hashes and scans for PII in its range with the same code
as the one-process audit (``engine._Pass``) and returns the compact per-example arrays (token totals,
hashes, line numbers) plus its counters and capped problem lists. The parent puts them together in
file order, so the report is the one a single process would write: totals and percentiles, exact
duplicates over the whole file, every problem with its true file:line. Near-duplicate search (bounded
to the first ``near_dup_limit`` examples in either mode) runs in the parent once the workers have
exited, over the start of the file, so that the workers' memory (each holds its own tokenizer, about
90 MB for o200k_base) and the LSH index (about 95 MB) are never held at once. Memory: workers hold one
batch at a time; the parent holds the fixed-size arrays (24 bytes per example with one tokenizer).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from tunewise.data import Columns
from tunewise.errors import BadInputError, Problem

CHUNK_BYTES = 32 << 20          # one job reads about this much
PARALLEL_MIN_BYTES = 64 << 20   # below this, one process is as fast (no start-up cost)

_COUNTERS: dict[tuple[str, ...], list[Any]] = {}   # per worker process: tokenizers load once


def default_workers(path: Path, container: str) -> int:
    """All cores for a JSONL file of at least PARALLEL_MIN_BYTES, else 1."""
    if container != "jsonl" or not path.is_file() or path.stat().st_size < PARALLEL_MIN_BYTES:
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def plan_ranges(path: Path, chunk_bytes: int | None = None) -> list[tuple[int, int]]:
    """[start, end) byte ranges of about ``chunk_bytes`` (default CHUNK_BYTES), each at a line start."""
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    size = path.stat().st_size
    out: list[tuple[int, int]] = []
    start = 0
    with path.open("rb") as fh:
        while start < size:
            target = start + chunk_bytes
            if target >= size:
                out.append((start, size))
                break
            fh.seek(target - 1)
            fh.readline()  # to just after the newline that ends the line holding byte target-1
            end = min(fh.tell(), size)
            out.append((start, end))
            start = end
    return out


def audit_range(path: str, fmt: str, columns: Columns, specs: tuple[str, ...], limits: list[int | None],
                pii: bool, start: int, end: int) -> dict[str, Any]:
    """One worker's share: everything but near duplicates, line numbers relative to ``start``."""
    from tunewise.audit import engine
    from tunewise.audit.tokenizers import resolve
    from tunewise.data.readers import scan_jsonl_range

    counters = _COUNTERS.get(specs)
    if counters is None:
        counters = _COUNTERS[specs] = [resolve(s) for s in specs]
    problems = engine._Problems()
    acc = engine._Pass(counters, near=None, pii=pii, limits=limits, problems=problems)
    seen = [False]
    for batch in engine._batches(scan_jsonl_range(path, fmt, columns, start, end, seen), problems, None):
        acc.add_batch(batch)
    with open(path, "rb") as fh:  # lines in the range, for the parent's line offsets
        fh.seek(start)
        lines, left = 0, end - start
        while left > 0:
            block = fh.read(min(1 << 20, left))
            if not block:
                break
            lines += block.count(b"\n")
            left -= len(block)
        if end > start:
            fh.seek(end - 1)
            lines += fh.read(1) != b"\n"  # a last line without its newline
    return {"lines": lines, "seen": seen[0], "n": acc.n, "totals": [t.tobytes() for t in acc.totals],
            "in_sum": acc.in_sum, "out_sum": acc.out_sum, "over": acc.over, "over_lines": acc.over_lines,
            "hashes": acc.hashes.tobytes(), "in_hashes": acc.in_hashes.tobytes(), "line_no": acc.lines.tobytes(),
            "labels": acc.labels, "pii_counts": acc.pii_counts, "pii_examples": acc.pii_examples,
            "pii_samples": acc.pii_samples, "errors": problems.errors, "warnings": problems.warnings,
            "n_errors": problems.n_errors, "n_warnings": problems.n_warnings}


def run(path: Path, fmt: str, columns: Columns, specs: list[str], acc: Any, problems: Any, *, workers: int,
        near_scan: Callable[[], None] | None, progress: Callable[[int], None] | None) -> None:
    """Fill ``acc`` (an ``engine._Pass`` without a near-duplicate index) and ``problems`` from
    ``workers`` processes; ``near_scan`` runs here in the parent while they work."""
    import multiprocessing as mp

    from tunewise.audit.duplicates import MAX_LISTED
    from tunewise.audit.engine import MAX_STORED

    ranges = plan_ranges(path)
    with ProcessPoolExecutor(max_workers=max(1, min(workers, len(ranges))), mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(audit_range, str(path), fmt, columns, tuple(specs), acc.limits, acc.pii, s, e)
                   for s, e in ranges]
        offset, lines_done, seen = 0, 0, False
        for fut in futures:  # in file order
            r = fut.result()
            seen |= r["seen"]
            _merge(acc, problems, r, offset, MAX_STORED, MAX_LISTED)
            offset += r["lines"]
            lines_done += r["lines"]
            if progress:
                progress(lines_done)
    if near_scan is not None:  # after the workers are gone: their memory and the LSH index never add up
        near_scan()
    if not seen:
        raise BadInputError("file has no records (only blank lines)", where=f"{path}:1",
                            fix="Give a file with at least one example")


def _shift(p: Problem, offset: int) -> Problem:
    return dataclasses.replace(p, line=p.line + offset) if p.line is not None and offset else p


def _merge(acc: Any, problems: Any, r: dict[str, Any], offset: int, max_stored: int, max_listed: int) -> None:
    acc.n += r["n"]
    for k in range(len(acc.totals)):
        acc.totals[k].frombytes(r["totals"][k])
        acc.in_sum[k] += r["in_sum"][k]
        acc.out_sum[k] += r["out_sum"][k]
        acc.over[k] += r["over"][k]
        room = max_listed - len(acc.over_lines[k])
        acc.over_lines[k].extend(ln + offset for ln in r["over_lines"][k][:max(0, room)])
    acc.hashes.frombytes(r["hashes"])
    acc.in_hashes.frombytes(r["in_hashes"])
    lines = np.frombuffer(r["line_no"], dtype=np.uint32).astype(np.int64) + offset
    acc.lines.frombytes(lines.astype(np.uint32).tobytes())
    acc.labels.update(r["labels"])
    acc.pii_counts.update(r["pii_counts"])
    acc.pii_examples += r["pii_examples"]
    room = max_listed - len(acc.pii_samples)
    acc.pii_samples.extend({**s, "line": s["line"] + offset} for s in r["pii_samples"][:max(0, room)])
    for name in ("errors", "warnings"):
        stored: list[Problem] = getattr(problems, name)
        room = max_stored - len(stored)
        stored.extend(_shift(p, offset) for p in r[name][:max(0, room)])
    problems.n_errors += r["n_errors"]
    problems.n_warnings += r["n_warnings"]


__all__ = ["CHUNK_BYTES", "PARALLEL_MIN_BYTES", "audit_range", "default_workers", "plan_ranges", "run"]
