"""Loading the pilot's data and splitting it: seeded, stratified, or user-given files.

Bad input is caught here, before any model loads: one class only, a label set that differs between
train and evaluation files, too few examples for the split, mixed task kinds.

Split integrity: examples whose input text is the same after normalisation (whitespace runs to one
space, case folded: ``norm_text``) form one group, and a group goes to one side of the split, so no
test item is a copy of a training item. A given ``--test`` (or ``--validation``) file is checked
against the training split the same way; the overlap is reported (``how["overlap"]``) and, with
``drop_test_overlap``, the overlapping test items are left out of scoring.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunewise.data import Columns, Example, load
from tunewise.errors import BadInputError, Problem

MIN_PER_CLASS = 3        # one each for train / validation / test at the very least
MIN_GENERATION = 10


@dataclass
class Splits:
    task: str                       # 'classification' | 'generation'
    train: list[Example]
    val: list[Example]
    test: list[Example]
    labels: list[str] = field(default_factory=list)
    how: dict[str, Any] = field(default_factory=dict)

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "validation": len(self.val), "test": len(self.test)}


def _load(path: Path, columns: Columns, role: str) -> tuple[str, list[Example]]:
    ds = load(path, columns=columns)
    if ds.format == "preference":
        raise BadInputError("preference pairs (chosen / rejected) train with DPO, which pilots do not run",
                            where=str(path), fix="Audit them with `tunewise audit`; pilot on the preferred answers "
                                                 "as chat or prompt/completion data")
    ds.raise_if_errors(f"the {role} data has invalid rows")
    task = "classification" if ds.kind == "classification" else "generation"
    return task, ds.examples


def norm_text(text: str) -> str:
    """The duplicate key: whitespace runs collapsed to one space, case folded."""
    return " ".join(text.split()).casefold()


def prepare(data: Path, *, seed: int = 0, validation: Path | None = None, test: Path | None = None,
            val_fraction: float = 0.1, test_fraction: float = 0.2, max_train_examples: int | None = None,
            columns: Columns = Columns(), drop_test_overlap: bool = False) -> Splits:
    task, examples = _load(data, columns, "training")
    given: dict[str, list[Example]] = {}
    for role, path in (("validation", validation), ("test", test)):
        if path is not None:
            t, exs = _load(path, columns, role)
            if t != task:
                raise BadInputError(f"the {role} file holds {t} data but the training file holds {task} data",
                                    where=str(path), fix="Give files of the same format")
            given[role] = exs
    if task == "classification":
        _check_classes(examples, str(data), "training")
    rng = random.Random(seed)
    pool = list(examples)
    dup_groups, dup_examples = _duplicate_counts(pool)
    test_ex = given.get("test")
    if test_ex is None:
        pool, test_ex = _split(pool, test_fraction, rng, task, "test", str(data))
    val_ex = given.get("validation")
    if val_ex is None:
        frac = val_fraction / (1 - (test_fraction if "test" not in given else 0))
        pool, val_ex = _split(pool, frac, rng, task, "validation", str(data)) if frac > 0 else (pool, [])
    train = pool
    if max_train_examples is not None and max_train_examples < len(train):
        train = subsample(train, max_train_examples, seed, task)
    overlap: dict[str, Any] = {}
    for role, path in (("test", test), ("validation", validation)):
        if path is not None:
            overlap[role] = _overlap(train, given[role], path)
    if drop_test_overlap and "test" in overlap and overlap["test"]["overlapping"]:
        keys = {norm_text(e.text) for e in train}
        test_ex = [e for e in test_ex if norm_text(e.text) not in keys]
        overlap["test"]["removed_from_scoring"] = True
        if not test_ex:
            raise BadInputError("every test example also occurs in the training data", where=str(test),
                                why=f"{overlap['test']['overlapping']} of {overlap['test']['examples']} test "
                                    "examples have the same (normalised) text as a training example",
                                fix="Give a test file with held-out examples, or drop --drop-test-overlap")
    labels: list[str] = []
    if task == "classification":
        labels = sorted({e.label for e in train})  # type: ignore[misc]
        _check_classes(train, str(data), "training split")
        for role, exs, path in (("test", test_ex, test), ("validation", val_ex, validation)):
            if exs or role == "test":  # --val-fraction 0 means no validation split, not a bad one
                _check_label_sets(labels, exs, role, path or data)
    elif len(train) < MIN_GENERATION:
        raise BadInputError("too few examples for the split", where=str(data),
                            why=f"{len(train)} training examples remain; a pilot needs at least {MIN_GENERATION}",
                            fix="Add examples or lower --test-fraction / --val-fraction")
    how: dict[str, Any] = {
        "seed": seed, "stratified": task == "classification",
        "validation": str(validation) if validation else f"{val_fraction:g} of {data.name}",
        "test": str(test) if test else f"{test_fraction:g} of {data.name}",
        "duplicates": {"key": "input text, whitespace-normalised and case-folded",
                       "groups": dup_groups, "examples": dup_examples,
                       "rule": "each group of duplicates is kept on one side of the split"},
        "overlap": overlap}
    return Splits(task, train, val_ex, test_ex, labels, how)


def _duplicate_counts(examples: list[Example]) -> tuple[int, int]:
    """(groups of 2+ examples with the same normalised input, examples in them)."""
    counts = Counter(norm_text(e.text) for e in examples)
    multi = [c for c in counts.values() if c > 1]
    return len(multi), sum(multi)


def _overlap(train: list[Example], given: list[Example], path: Path) -> dict[str, Any]:
    """Items of a given evaluation file whose normalised input also occurs in the training split
    (the examples the model is trained on)."""
    by_key: dict[str, set[str | None]] = {}
    for e in train:
        by_key.setdefault(norm_text(e.text), set()).add(e.output)
    hits = [e for e in given if norm_text(e.text) in by_key]
    same = sum(1 for e in hits if e.output in by_key[norm_text(e.text)])
    return {"file": str(path), "examples": len(given), "overlapping": len(hits),
            "share": round(len(hits) / len(given), 6) if given else 0.0,
            "same_output": same, "different_output": len(hits) - same,
            "lines": [e.line for e in hits[:20]], "removed_from_scoring": False,
            "key": "input text, whitespace-normalised and case-folded"}


def _check_classes(examples: list[Example], where: str, role: str) -> None:
    counts = Counter(e.label for e in examples)
    if len(counts) < 2:
        only = next(iter(counts), "?")
        raise BadInputError(f"the {role} data has only one class ('{only}')", where=where,
                            why="a classifier needs at least two labels to learn to tell apart",
                            fix="Add examples of the other class(es)")
    few = {lab: c for lab, c in counts.items() if c < MIN_PER_CLASS}
    if few:
        raise BadInputError(
            "too few examples for the split", where=where,
            why=f"each class needs at least {MIN_PER_CLASS} examples (one each for train, validation, test); "
                + ", ".join(f"'{k}' has {v}" for k, v in sorted(few.items())),
            fix="Add examples of these classes, drop them, or give --validation/--test files")


def _check_label_sets(train_labels: list[str], exs: list[Example], role: str, path: Path) -> None:
    seen = {e.label for e in exs}
    unseen = sorted(seen - set(train_labels))
    missing = sorted(set(train_labels) - seen)
    if unseen or missing:
        problems = [Problem(str(path), e.line, f"label '{e.label}' does not occur in the training data",
                            "Relabel or remove the row") for e in exs if e.label in unseen][:50]
        why = []
        if unseen:
            why.append(f"{role} labels not in training: {', '.join(map(repr, unseen))}")
        if missing:
            why.append(f"training labels absent from {role}: {', '.join(map(repr, missing))}")
        raise BadInputError(f"the label set differs between training and {role} data", where=str(path),
                            why="; ".join(why),
                            fix=f"Use the same labels in both files (or let tunewise split one file)",
                            problems=problems)


def _groups(pool: list[Example], members: list[int]) -> list[list[int]]:
    """``members`` (indices into ``pool``) grouped by normalised input, in order of first occurrence.
    Without duplicates every group is one index, in the same order (so the split is unchanged)."""
    groups: dict[str, list[int]] = {}
    for i in members:
        groups.setdefault(norm_text(pool[i].text), []).append(i)
    return list(groups.values())


def _split(pool: list[Example], fraction: float, rng: random.Random, task: str, role: str,
           where: str) -> tuple[list[Example], list[Example]]:
    """Hold out ``fraction`` of ``pool`` (stratified by label for classification); duplicates
    (same normalised input) are held out or kept together."""
    held: set[int] = set()
    if task != "classification":
        n = max(1, round(len(pool) * fraction))
        if len(pool) - n < MIN_GENERATION:
            raise BadInputError("too few examples for the split", where=where,
                                why=f"{len(pool)} examples cannot give a {role} split and leave "
                                    f"{MIN_GENERATION} for training",
                                fix="Add examples or give --validation/--test files")
        units = _groups(pool, list(range(len(pool))))
        rng.shuffle(units)
        for u in units:
            if len(held) >= n:
                break
            held.update(u)
        if len(pool) - len(held) < MIN_GENERATION:
            raise BadInputError("too few examples for the split", where=where,
                                why=f"duplicate groups leave {len(pool) - len(held)} examples for training",
                                fix="Remove duplicates or give --validation/--test files")
        return [e for i, e in enumerate(pool) if i not in held], [pool[i] for i in sorted(held)]
    # a duplicate group is stratified under the label of its first member
    first_label: dict[str, str] = {}
    by_label: dict[str, list[int]] = {}
    for i, e in enumerate(pool):
        lab = first_label.setdefault(norm_text(e.text), e.label)  # type: ignore[arg-type]
        by_label.setdefault(lab, []).append(i)
    for label in sorted(by_label):
        idx = by_label[label]
        units = _groups(pool, idx)
        rng.shuffle(units)
        k = max(1, round(len(idx) * fraction))
        taken = 0
        for u in units:
            if taken >= k:
                break
            held.update(u)
            taken += len(u)
        if len(idx) - taken < 2:
            raise BadInputError("too few examples for the split", where=where,
                                why=f"class '{label}' has {len(idx)} examples left; cannot hold out "
                                    f"{k} for {role} and keep 2 for training",
                                fix="Add examples of this class or give --validation/--test files")
    return [e for i, e in enumerate(pool) if i not in held], [e for i, e in enumerate(pool) if i in held]


def subsample(examples: list[Example], n: int, seed: int, task: str) -> list[Example]:
    """A seeded, stratified (for classification) subsample of ``n`` examples, in original order."""
    if n >= len(examples):
        return list(examples)
    rng = random.Random(seed * 7919 + n)
    if task != "classification":
        keep = set(rng.sample(range(len(examples)), n))
        return [e for i, e in enumerate(examples) if i in keep]
    by_label: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        by_label.setdefault(e.label, []).append(i)  # type: ignore[arg-type]
    keep: set[int] = set()
    total = len(examples)
    for label in sorted(by_label):
        idx = by_label[label]
        rng.shuffle(idx)
        keep.update(idx[: max(1, round(n * len(idx) / total))])
    return [e for i, e in enumerate(examples) if i in keep]
