"""Exact duplicates over the audit pass's 8-byte example hashes: repeats, and the same input with
different outputs (contradicting labels). ``normalise`` and ``hash64`` are the one definition of
"the same example" that the audit, the parallel audit and the train/test overlap check share."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from tunewise.errors import Problem

MAX_LISTED = 100  # example pairs/lines listed per finding in the JSON


def normalise(text: str) -> str:
    """Whitespace-normalised text: runs of whitespace become one space, ends trimmed."""
    return " ".join(text.split())


def hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


def exact_duplicates(p: Any, name: str, problems: Any) -> dict[str, object]:
    """Exact duplicates and contradicting examples from a finished pass's per-example hashes.

    ``p`` is the audit pass (``engine._Pass``: ``hashes``, ``in_hashes``, ``lines``, ``n``); each
    finding is added to ``problems`` (with ``.add(Problem)``) and counted in the returned summary."""
    h = np.frombuffer(p.hashes, dtype=np.uint64) if p.n else np.zeros(0, np.uint64)
    lines = np.frombuffer(p.lines, dtype=np.uint32) if p.n else np.zeros(0, np.uint32)
    order = np.argsort(h, kind="stable")
    hs = h[order]
    same = np.zeros(len(hs), dtype=bool)
    if len(hs) > 1:
        same[1:] = hs[1:] == hs[:-1]
    dup_pos = order[same]  # later members of each group (stable sort keeps file order within a group)
    first_of = np.maximum.accumulate(np.where(~same, np.arange(len(hs)), 0))
    pairs = []
    dup_lines = set()
    for i in np.flatnonzero(same):
        line, orig = int(lines[order[i]]), int(lines[order[first_of[i]]])
        dup_lines.add(line)
        if len(pairs) < MAX_LISTED:
            pairs.append({"line": line, "duplicate_of": orig})
        problems.add(Problem(name, line, f"exact duplicate of line {orig} (after whitespace normalisation)",
                             "Remove the repeat; duplicates overweight an example", "warning"))
    # Same input (prompt / text), different output (label / completion): contradicting examples.
    ih = np.frombuffer(p.in_hashes, dtype=np.uint64) if p.n else np.zeros(0, np.uint64)
    oh = h  # with the same input, a different whole-example hash means a different output
    conflicting = 0
    conflict_pairs = []
    if len(ih) > 1:
        o2 = np.lexsort((oh, ih))  # grouped by input hash, then output hash
        a, b = ih[o2], oh[o2]
        new_in = np.ones(len(a), dtype=bool)
        new_in[1:] = a[1:] != a[:-1]
        new_pair = new_in.copy()
        new_pair[1:] |= b[1:] != b[:-1]
        starts = np.flatnonzero(new_in)
        ends = np.r_[starts[1:], len(a)]
        distinct_outputs = np.add.reduceat(new_pair.astype(np.int64), starts)
        for g in np.flatnonzero(distinct_outputs > 1):
            conflicting += 1
            if len(conflict_pairs) < MAX_LISTED:
                members = o2[starts[g]:ends[g]]
                conflict_pairs.append(sorted(int(lines[m]) for m in members)[:10])
    for grp_lines in conflict_pairs:
        problems.add(Problem(name, grp_lines[0], "the same input has different outputs on lines " +
                             ", ".join(map(str, grp_lines)), "Contradicting labels teach noise; keep one", "warning"))
    return {"exact": len(dup_pos), "exact_pairs": pairs, "exact_lines": dup_lines,
            "conflicting": conflicting, "conflicting_lines": conflict_pairs}
