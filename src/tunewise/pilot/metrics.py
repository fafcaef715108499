"""Evaluation metrics with uncertainty.

Classification: accuracy (Wilson 95% interval), macro/micro precision/recall/F1 and MCC (seeded
percentile bootstrap over items, >= 1,000 resamples), per-class report, confusion matrix, expected
calibration error (15 equal-width bins on the top-class probability). Generation: SQuAD-normalised
exact match and token F1, JSON-field F1 when targets are JSON objects, grounding rate (share of
generated field values / answer tokens found in the input). Implemented on numpy; the tests
cross-check every number against scikit-learn.
"""

from __future__ import annotations

import json
import math
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion k/n."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def confusion(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    """k x k confusion matrix; rows = gold, columns = predicted."""
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


MACRO_F1_DEFINITION = ("macro-F1 over the task's labels (every label of the training data): each label's F1 = "
                       "2 TP / (gold + predicted), 0 when the label has neither gold nor predicted items; "
                       "predictions outside the label set count as errors but are not averaged in")


def macro_f1_from_confusion(cm: np.ndarray, n_labels: int | None = None) -> Any:
    """THE macro-F1 of tunewise (pilot, compare and monitor all call this): the mean per-label F1 over
    the task's labels, classes ``0 .. n_labels-1`` of the confusion matrix ``cm`` (rows gold, columns
    predicted; default all its classes). Columns beyond ``n_labels`` hold predictions outside the label
    set: they are errors (they lower the gold label's recall) but are not averaged in. A label with no
    gold and no predicted items in ``cm`` (e.g. in a bootstrap resample or a small monitoring window)
    scores 0, as scikit-learn's ``f1_score(labels=task_labels, average="macro", zero_division=0)`` does.

    ``cm`` may be a stack ``[..., k, k]`` (one matrix per bootstrap resample): returns an array then.
    """
    cm = np.asarray(cm, dtype=float)
    m = n_labels or cm.shape[-1]
    tp = np.diagonal(cm, axis1=-2, axis2=-1)[..., :m]
    both = cm.sum(axis=-1)[..., :m] + cm.sum(axis=-2)[..., :m]   # gold count + predicted count per label
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(both > 0, 2 * tp / both, 0.0)
    out = f.mean(axis=-1)
    return float(out) if np.ndim(out) == 0 else out


def macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    """Macro-F1 of string labels over the task's ``labels`` (see ``macro_f1_from_confusion``)."""
    index = {lab: i for i, lab in enumerate(labels)}
    k = len(labels)
    y = np.array([index[g] if g in index else k for g in gold], dtype=int)
    p = np.array([index.get(x, k) for x in pred], dtype=int)
    return macro_f1_from_confusion(confusion(y, p, k + 1), k)


def _prf_from_cm(cm: np.ndarray) -> dict[str, Any]:
    tp = np.diag(cm).astype(float)
    pred = cm.sum(axis=0).astype(float)
    gold = cm.sum(axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(pred > 0, tp / pred, 0.0)
        r = np.where(gold > 0, tp / gold, 0.0)
        f = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    tot = cm.sum()
    micro = float(tp.sum() / tot) if tot else 0.0
    return {"p": p, "r": r, "f": f, "support": gold, "macro_precision": float(p.mean()),
            "macro_recall": float(r.mean()), "macro_f1": macro_f1_from_confusion(cm), "micro": micro}


def mcc_from_cm(cm: np.ndarray) -> float:
    """Matthews correlation (multi-class, Gorodkin's R_K), as scikit-learn computes it."""
    t = cm.sum(axis=1).astype(float)
    p = cm.sum(axis=0).astype(float)
    c = float(np.trace(cm))
    s = float(cm.sum())
    cov_ytyp = c * s - float(t @ p)
    cov_ypyp = s * s - float(p @ p)
    cov_ytyt = s * s - float(t @ t)
    if cov_ypyp * cov_ytyt == 0:
        return 0.0
    return cov_ytyp / math.sqrt(cov_ytyt * cov_ypyp)


def ece(probs: np.ndarray, y_true: np.ndarray, n_bins: int = 15) -> float:
    """Expected calibration error of the top-class probability, equal-width bins."""
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y_true).astype(float)
    edges = np.linspace(0, 1, n_bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi) if lo > 0 else (conf >= lo) & (conf <= hi)
        if m.any():
            total += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(total)


def bootstrap_ci(stat: Callable[[np.ndarray], float], n: int, *, resamples: int = 1000, seed: int = 0,
                 alpha: float = 0.05) -> tuple[float, float]:
    """Seeded percentile bootstrap over item indices."""
    rng = np.random.default_rng(seed)
    values = np.empty(resamples)
    for b in range(resamples):
        values[b] = stat(rng.integers(0, n, n))
    return float(np.quantile(values, alpha / 2)), float(np.quantile(values, 1 - alpha / 2))


def _entry(value: float, lo: float, hi: float, method: str) -> dict[str, Any]:
    return {"value": round(value, 6), "ci_low": round(lo, 6), "ci_high": round(hi, 6), "ci": method}


def classification(y_true: Sequence[int], y_pred: Sequence[int], labels: list[str],
                   probs: np.ndarray | None = None, *, resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """All classification metrics; ``metrics`` entries are {value, ci_low, ci_high, ci}."""
    yt, yp = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    k, n = len(labels), len(yt)
    cm = confusion(yt, yp, k)
    prf = _prf_from_cm(cm)
    correct = int((yt == yp).sum())
    acc_lo, acc_hi = wilson(correct, n)
    boot = f"percentile bootstrap, {resamples} resamples, seed {seed}"

    def stat_of(fn: Callable[[np.ndarray], float]) -> tuple[float, float]:
        return bootstrap_ci(lambda idx: fn(confusion(yt[idx], yp[idx], k)), n, resamples=resamples, seed=seed)

    metrics = {"accuracy": _entry(correct / n if n else 0.0, acc_lo, acc_hi, "Wilson 95%")}
    for name, fn in (("macro_f1", lambda c: _prf_from_cm(c)["macro_f1"]),
                     ("macro_precision", lambda c: _prf_from_cm(c)["macro_precision"]),
                     ("macro_recall", lambda c: _prf_from_cm(c)["macro_recall"]),
                     ("micro_f1", lambda c: _prf_from_cm(c)["micro"]),
                     ("mcc", mcc_from_cm)):
        value = fn(cm)
        lo, hi = stat_of(fn)
        metrics[name] = _entry(value, lo, hi, boot)
    # micro P = micro R = micro F1 = accuracy for single-label classification
    metrics["micro_precision"] = dict(metrics["micro_f1"])
    metrics["micro_recall"] = dict(metrics["micro_f1"])
    if probs is not None and len(probs):
        e = ece(probs, yt)
        lo, hi = bootstrap_ci(lambda idx: ece(probs[idx], yt[idx]), n, resamples=resamples, seed=seed)
        metrics["ece"] = _entry(e, lo, hi, boot)
    per_class = {lab: {"precision": round(float(prf["p"][i]), 6), "recall": round(float(prf["r"][i]), 6),
                       "f1": round(float(prf["f"][i]), 6), "support": int(prf["support"][i])}
                 for i, lab in enumerate(labels)}
    return {"metrics": metrics, "per_class": per_class,
            "confusion_matrix": {"labels": labels, "rows_gold_cols_pred": cm.tolist()}, "n": n}


# ------------------------------------------------------------------------------------- generation

def normalize_answer(s: str) -> str:
    """SQuAD v1.1 normalisation: lower case, drop punctuation and articles, squeeze spaces."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def exact_match(pred: str, gold: str) -> float:
    return float(normalize_answer(pred) == normalize_answer(gold))


def token_f1(pred: str, gold: str) -> float:
    p, g = normalize_answer(pred).split(), normalize_answer(gold).split()
    if not p or not g:
        return float(p == g)
    common = Counter(p) & Counter(g)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def _flatten(obj: Any, prefix: str = "") -> set[tuple[str, str]]:
    if isinstance(obj, dict):
        out: set[tuple[str, str]] = set()
        for k, v in obj.items():
            out |= _flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(obj, list):
        out = set()
        for v in obj:
            out |= _flatten(v, prefix + "[]")
        return out
    return {(prefix, normalize_answer(str(obj)))}


def parse_json(text: str) -> Any | None:
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        m = re.search(r"\{.*\}", text, flags=re.S)
        if m:
            try:
                return json.loads(m.group(0))
            except ValueError:
                return None
    return None


def json_field_counts(pred: str, gold: str) -> tuple[int, int, int]:
    """(true positives, predicted fields, gold fields) over flattened (path, normalised value) pairs."""
    g = _flatten(parse_json(gold) or {})
    p_obj = parse_json(pred)
    p = _flatten(p_obj) if isinstance(p_obj, (dict, list)) else set()
    return len(p & g), len(p), len(g)


def grounded_values(pred: str, source: str) -> tuple[int, int]:
    """(values found in the source, values generated): JSON leaf values when the output is JSON,
    else the answer's normalised tokens."""
    src = normalize_answer(source)
    obj = parse_json(pred)
    if isinstance(obj, (dict, list)):
        values = [v for _, v in _flatten(obj) if v]
    else:
        values = normalize_answer(pred).split()
    src_tokens = set(src.split())
    found = sum(1 for v in values if (v in src if " " in v else v in src_tokens))
    return found, len(values)


def generation(preds: list[str], golds: list[str], sources: list[str], *, resamples: int = 1000,
               seed: int = 0) -> dict[str, Any]:
    n = len(preds)
    em = np.array([exact_match(p, g) for p, g in zip(preds, golds)])
    f1 = np.array([token_f1(p, g) for p, g in zip(preds, golds)])
    boot = f"percentile bootstrap, {resamples} resamples, seed {seed}"
    lo, hi = wilson(int(em.sum()), n)
    metrics = {"exact_match": _entry(float(em.mean()) if n else 0.0, lo, hi, "Wilson 95%")}
    lo, hi = bootstrap_ci(lambda idx: float(f1[idx].mean()), n, resamples=resamples, seed=seed)
    metrics["token_f1"] = _entry(float(f1.mean()) if n else 0.0, lo, hi, boot)
    json_targets = sum(isinstance(parse_json(g), dict) for g in golds)
    if golds and json_targets == len(golds):
        c = np.array([json_field_counts(p, g) for p, g in zip(preds, golds)], dtype=float)

        def jf1(idx: np.ndarray) -> float:
            tp, pp, gg = c[idx].sum(axis=0)
            return 0.0 if tp == 0 else 2 * tp / (pp + gg)

        lo, hi = bootstrap_ci(jf1, n, resamples=resamples, seed=seed)
        metrics["json_field_f1"] = _entry(jf1(np.arange(n)), lo, hi, boot)
    gr = np.array([grounded_values(p, s) for p, s in zip(preds, sources)], dtype=float).reshape(-1, 2)
    if gr[:, 1].sum() > 0:
        def grate(idx: np.ndarray) -> float:
            tot = gr[idx, 1].sum()
            return float(gr[idx, 0].sum() / tot) if tot else 0.0

        lo, hi = bootstrap_ci(grate, n, resamples=resamples, seed=seed)
        metrics["grounding_rate"] = _entry(grate(np.arange(n)), lo, hi, boot)
    return {"metrics": metrics, "n": n, "per_item": {"exact_match": em.tolist(), "token_f1": f1.tolist()}}
