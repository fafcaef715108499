"""Paired bootstrap of every measured candidate at once, on the same test items.

Each resample draws the test items with replacement once and scores every candidate on that same
draw, so differences between candidates are paired. A resample is a vector of item weights (how
often each item was drawn); a candidate's confusion counts in a resample are then one matrix
product, which scores 10,000 resamples of a few candidates in well under a second.

Metrics (the same definitions as ``tunewise.pilot.metrics``): accuracy; macro-F1 over the task's
labels, a class's F1 being 2TP / (2TP + FP + FN) and 0 when it has no gold item and no prediction;
micro-F1 over the task's labels; MCC (multi-class, as scikit-learn); and for generation the mean of
a per-item score (exact match, token F1). A prediction outside the label set (an unparseable
answer) is wrong: it is a false negative of its gold class and no class's false positive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CHUNK = 2000  # resamples per matrix product (bounds memory at n x chunk weights)
CLASSIFICATION = ("accuracy", "macro_f1", "micro_f1", "mcc")


@dataclass(frozen=True)
class Scores:
    """Point scores (K,) and bootstrap scores (K, B) of K candidates on the same n items."""

    ids: list[str]
    point: np.ndarray
    boot: np.ndarray
    n: int
    metric: str

    def index(self, cid: str) -> int:
        return self.ids.index(cid)


def weight_chunks(n: int, resamples: int, seed: int):  # noqa: ANN201 - a generator of arrays
    """(rows, n) counts, CHUNK resamples at a time: how often each item is drawn (rows sum to n).
    The same seed always gives the same resamples, and every candidate is scored on the same ones."""
    rng = np.random.default_rng(seed)
    for start in range(0, resamples, CHUNK):
        rows = min(CHUNK, resamples - start)
        idx = rng.integers(0, n, size=(rows, n))
        flat = (idx + np.arange(rows)[:, None] * n).ravel()
        yield np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(np.float64)


def _from_confusion(cm: np.ndarray, metric: str, k: int) -> np.ndarray:
    """Metric per row of stacked confusion matrices cm (R, k, k+1): rows gold, cols predicted
    (the last column: outside the label set)."""
    tp = np.diagonal(cm[:, :, :k], axis1=1, axis2=2)
    gold = cm.sum(axis=2)
    pred = cm[:, :, :k].sum(axis=1)
    total = gold.sum(axis=1)
    if metric == "accuracy":
        return np.divide(tp.sum(axis=1), total, out=np.zeros(len(cm)), where=total > 0)
    if metric == "macro_f1":
        den = 2 * tp + (pred - tp) + (gold - tp)
        f = np.divide(2 * tp, den, out=np.zeros_like(den, dtype=float), where=den > 0)
        return f.mean(axis=1)
    if metric == "micro_f1":
        tps, fps, fns = tp.sum(axis=1), (pred - tp).sum(axis=1), (gold - tp).sum(axis=1)
        den = 2 * tps + fps + fns
        return np.divide(2 * tps, den, out=np.zeros(len(cm)), where=den > 0)
    if metric == "mcc":
        c = tp.sum(axis=1)
        s = total
        t, p = gold, cm.sum(axis=1)[:, :k]  # predictions outside the label set are in no class
        cov_tp = c * s - (t * p).sum(axis=1)
        cov_pp = s * s - (p * p).sum(axis=1)
        cov_tt = s * s - (t * t).sum(axis=1)
        den = np.sqrt(cov_pp * cov_tt)
        return np.divide(cov_tp, den, out=np.zeros(len(cm)), where=den > 0)
    raise ValueError(f"unknown classification metric {metric!r}")


def classification_scores(ids: Sequence[str], gold: Sequence[str], predictions: Sequence[Sequence[str | None]],
                          labels: Sequence[str], metric: str, *, resamples: int, seed: int) -> Scores:
    """Score K candidates' predictions on the same gold items, point and bootstrap."""
    labels = list(labels)
    index = {lab: i for i, lab in enumerate(labels)}
    k, n = len(labels), len(gold)
    g = np.array([index[x] for x in gold])
    onehots = []
    for preds in predictions:
        p = np.array([index.get(x, k) if x is not None else k for x in preds])  # k: outside the labels
        onehot = np.zeros((n, k * (k + 1)))
        onehot[np.arange(n), g * (k + 1) + p] = 1.0
        onehots.append(onehot)
    point = np.array([_from_confusion(o.sum(axis=0).reshape(1, k, k + 1), metric, k)[0] for o in onehots])
    boot = np.empty((len(onehots), resamples))
    done = 0
    for w in weight_chunks(n, resamples, seed):
        for i, o in enumerate(onehots):
            boot[i, done:done + len(w)] = _from_confusion((w @ o).reshape(-1, k, k + 1), metric, k)
        done += len(w)
    return Scores(list(ids), point, boot, n, metric)


def item_scores(ids: Sequence[str], per_item: Sequence[Sequence[float]], metric: str, *, resamples: int,
                seed: int) -> Scores:
    """Mean of a per-item score (generation metrics), point and bootstrap."""
    x = np.asarray(per_item, dtype=float)
    n = x.shape[1]
    boot = np.empty((len(x), resamples))
    done = 0
    for w in weight_chunks(n, resamples, seed):
        boot[:, done:done + len(w)] = (w @ x.T).T / n
        done += len(w)
    return Scores(list(ids), x.mean(axis=1), boot, n, metric)
