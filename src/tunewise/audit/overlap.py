"""Train / validation overlap: the validation file is read with the same format and columns; its
examples are compared with the training examples (exact after whitespace normalisation, same input,
and near duplicates through the training file's MinHash LSH index)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tunewise.data import Columns, Example, scan
from tunewise.errors import Problem

if TYPE_CHECKING:
    from tunewise.audit.engine import _Pass, _Problems
    from tunewise.audit.neardup import NearDupIndex


def validation_overlap(path: Path, train: _Pass, *, fmt: str, columns: Columns, near: NearDupIndex | None,
                       problems: _Problems) -> dict[str, Any]:
    from tunewise.audit.duplicates import MAX_LISTED, hash64, normalise

    lines = np.frombuffer(train.lines, dtype=np.uint32) if train.n else np.zeros(0, np.uint32)

    def index(hashes: Any) -> tuple[np.ndarray, np.ndarray]:
        h = np.frombuffer(hashes, dtype=np.uint64) if train.n else np.zeros(0, np.uint64)
        order = np.argsort(h, kind="stable")
        return h[order], lines[order]

    full_sorted, full_lines = index(train.hashes)
    in_sorted, in_lines = index(train.in_hashes)

    def lookup(sorted_h: np.ndarray, sorted_lines: np.ndarray, value: int) -> int | None:
        i = int(np.searchsorted(sorted_h, np.uint64(value)))
        return int(sorted_lines[i]) if i < len(sorted_h) and sorted_h[i] == np.uint64(value) else None

    n = exact = same_input = near_n = 0
    labels: Counter[str] = Counter()
    pairs: list[dict[str, Any]] = []
    name = str(path)
    for item in scan(path, fmt, columns):
        if isinstance(item, Problem):
            problems.add(item)
            continue
        ex: Example = item
        n += 1
        if ex.label is not None:
            labels[ex.label] += 1
        n_in, n_out = normalise(ex.text), normalise(ex.output or "")
        hit = lookup(full_sorted, full_lines, hash64(n_in + "\x1f" + n_out))
        kind = None
        if hit is not None:
            exact += 1
            kind = "exact"
        else:
            hit = lookup(in_sorted, in_lines, hash64(n_in))
            if hit is not None:
                same_input += 1
                kind = "same input"
            elif near is not None:
                m = near.match(f"{n_in} {n_out}")
                if m is not None:
                    near_n += 1
                    hit, kind = m[0], f"near (Jaccard {m[1]:.2f})"
        if kind is not None:
            if len(pairs) < MAX_LISTED:
                pairs.append({"line": ex.line, "train_line": hit, "kind": kind})
            problems.add(Problem(name, ex.line, f"validation example overlaps training line {hit} ({kind})",
                                 "Remove it from one of the files; overlap inflates validation scores", "warning"))
    unseen = sorted(set(labels) - set(train.labels))
    for lab in unseen:
        problems.add(Problem(name, None, f"validation label '{lab}' never occurs in the training file",
                             "Add training examples for it or drop it", "warning"))
    return {"file": name, "examples": n, "exact": exact, "same_input": same_input, "near": near_n,
            "overlap_total": exact + same_input + near_n,
            "overlap_fraction": round((exact + same_input + near_n) / n, 4) if n else 0.0,
            "pairs": pairs, "labels": dict(sorted(labels.items())), "labels_not_in_train": unseen}
