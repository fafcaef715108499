"""Dynamic padding with length-grouped batches, and the max length from the data's token p95.

Batches are planned up front for every epoch (seeded), so the total number of padded tokens the run
will process is known before training starts — the duration predictor uses it. The first
``prediction_steps(total)`` batches of the run are a length-stratified sample of the first epoch's
batches (evenly spaced quantiles of padded size, in seeded order), so the steps the predictor times
span the run's batch sizes instead of whatever a shuffle put first.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

GROUP_FACTOR = 50  # a mega-batch of batch_size * GROUP_FACTOR examples is sorted by length


def max_length_from(lengths: Sequence[int], cap: int | None, *, quantile: float = 0.95) -> int:
    """The ``quantile`` of token lengths rounded up to a multiple of 8, capped at ``cap``."""
    import numpy as np

    p = float(np.percentile(np.asarray(lengths, dtype=float), quantile * 100)) if lengths else 8.0
    value = max(8, int(math.ceil(p / 8.0) * 8))
    return min(value, cap) if cap else value


def plan_epoch(lengths: Sequence[int], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Shuffle, sort by length within mega-batches, cut into batches, shuffle the batches."""
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    mega = batch_size * GROUP_FACTOR
    batches: list[list[int]] = []
    for start in range(0, len(order), mega):
        chunk = sorted(order[start:start + mega], key=lambda i: lengths[i], reverse=True)
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


PREDICT_SHARE = 0.10   # the duration is predicted after this share of the steps ...
PREDICT_MIN_STEPS = 8  # ... and at least this many


def prediction_steps(total: int) -> int:
    """After how many of ``total`` steps the duration is predicted."""
    return max(1, min(total - 1, max(PREDICT_MIN_STEPS, int(math.ceil(PREDICT_SHARE * total)))))


def stratify_head(steps: list[list[int]], lengths: Sequence[int], k: int, block: int, seed: int) -> list[list[int]]:
    """Move ``k`` batches of ``steps[:block]``, at evenly spaced quantiles of padded size, to the front
    (in a seeded order); the rest keep their order. The same batches, only their order changes."""
    if k <= 1 or block <= k:
        return steps
    head = list(range(block))
    by_size = sorted(head, key=lambda i: (len(steps[i]) * max(lengths[j] for j in steps[i]), i))
    pick = sorted({by_size[min(block - 1, int((q + 0.5) * block / k))] for q in range(k)})
    random.Random(seed * 7_919 + 17).shuffle(pick)
    chosen = set(pick)
    return [steps[i] for i in pick] + [steps[i] for i in head if i not in chosen] + steps[block:]


def plan(lengths: Sequence[int], batch_size: int, seed: int, epochs: float) -> list[list[int]]:
    """All steps of a run; a fractional epoch count trains on that share of the last epoch's batches.
    The first ``prediction_steps`` steps are a length-stratified sample of the first epoch (above)."""
    steps: list[list[int]] = []
    full = int(math.floor(epochs))
    for e in range(full):
        steps.extend(plan_epoch(lengths, batch_size, seed, e))
    first_epoch = len(steps) // full if full else 0
    rest = epochs - full
    if rest > 1e-9:
        last = plan_epoch(lengths, batch_size, seed, full)
        steps.extend(last[: max(1, round(len(last) * rest))])
    block = first_epoch or len(steps)
    return stratify_head(steps, lengths, prediction_steps(len(steps)), block, seed)


def pad_batch(seqs: list[list[int]], pad_id: int, *, labels: list[list[int]] | None = None,
              left: bool = False) -> dict:
    """Pad token id lists to the longest in the batch; returns torch tensors."""
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    lab = torch.full((len(seqs), width), -100, dtype=torch.long) if labels is not None else None
    for i, s in enumerate(seqs):
        sl = slice(width - len(s), width) if left else slice(0, len(s))
        ids[i, sl] = torch.tensor(s, dtype=torch.long)
        mask[i, sl] = 1
        if lab is not None:
            lab[i, sl] = torch.tensor(labels[i], dtype=torch.long)  # type: ignore[index]
    out = {"input_ids": ids, "attention_mask": mask}
    if lab is not None:
        out["labels"] = lab
    return out


def padded_tokens(batches: list[list[int]], lengths: Sequence[int]) -> list[int]:
    """Tokens each planned batch will hold after dynamic padding (batch size x longest)."""
    return [len(b) * max(lengths[i] for i in b) for b in batches]
