"""How good the detectors are, measured on a labelled corpus: precision, recall and F1 with 95%
intervals for the injection detector (overall, per rule, per obfuscation form, per language) and for
each PII type (span level: a gold span counts as found when a hit of the same type overlaps it).

Corpus files (JSONL, see tests/guardrails/build_corpus.py): ``injection-SPLIT.jsonl`` rows
``{"text", "label": "injection"|"benign", "lang", "form"}``; ``pii-SPLIT.jsonl`` rows
``{"text", "spans": [{"type", "start", "end"}]}``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from tunewise.errors import BadInputError

SPLITS = ("dev", "heldout")


def default_corpus_dir() -> Path | None:
    """tests/guardrails/corpus of the source checkout, else of the working directory."""
    here = Path(__file__).resolve().parents[3] / "tests" / "guardrails" / "corpus"
    for cand in (here, Path.cwd() / "tests" / "guardrails" / "corpus"):
        if cand.is_dir():
            return cand
    return None


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise BadInputError(f"corpus file not found: {path}", where="--corpus",
                            fix="Pass --corpus DIR holding injection-SPLIT.jsonl and pii-SPLIT.jsonl")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError as exc:
            raise BadInputError("corpus row is not JSON", where=f"{path}:{n}", why=str(exc)) from None
    return rows


def _ratio(k: int, n: int) -> dict[str, Any]:
    from tunewise.monitor.quality import wilson

    lo, hi = wilson(k, n)
    return {"value": (k / n) if n else None, "k": k, "n": n, "ci95": [round(lo, 4), round(hi, 4)]}


def _f1(tp: int, fp: int, fn: int) -> float | None:
    return (2 * tp / (2 * tp + fp + fn)) if (2 * tp + fp + fn) else None


def _f1_ci(pairs: list[tuple[bool, bool]], *, seed: int = 0, n_boot: int = 1000) -> list[float] | None:
    """Bootstrap 95% interval of F1 over (gold, predicted) rows."""
    import numpy as np

    if not pairs:
        return None
    arr = np.array(pairs, dtype=bool)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(arr), size=(n_boot, len(arr)))
    g, p = arr[idx, 0], arr[idx, 1]
    tp = (g & p).sum(1)
    denom = 2 * tp + (~g & p).sum(1) + (g & ~p).sum(1)
    f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), np.nan)
    f1 = f1[~np.isnan(f1)]
    return [round(float(np.quantile(f1, 0.025)), 4), round(float(np.quantile(f1, 0.975)), 4)] if len(f1) else None


def _prf(pairs: list[tuple[bool, bool]]) -> dict[str, Any]:
    tp = sum(g and p for g, p in pairs)
    fp = sum(p and not g for g, p in pairs)
    fn = sum(g and not p for g, p in pairs)
    f1 = _f1(tp, fp, fn)
    return {"tp": tp, "fp": fp, "fn": fn, "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn),
            "f1": {"value": f1, "ci95": _f1_ci(pairs)}}


def evaluate_injection(rows: list[dict[str, Any]], *, threshold: float | None = None) -> dict[str, Any]:
    from tunewise.detectors import injection
    from tunewise.guardrails.evaluate import evaluate_detector

    threshold = injection.DEFAULT_THRESHOLD if threshold is None else threshold
    scored = []
    for r in rows:
        hits = injection.scan(r["text"])
        scored.append((r, r["label"] == "injection", injection.score(r["text"], hits), {h.rule for h in hits}))
    pairs = [(gold, s >= threshold) for _, gold, s, _ in scored]
    benign = [p for g, p in pairs if not g]
    out: dict[str, Any] = {"threshold": threshold, "n": len(rows), "overall": _prf(pairs),
                           "false_positive_rate": _ratio(sum(benign), len(benign))}
    ranking = evaluate_detector(injection.score, [r["text"] for r in rows], [g for _, g, _, _ in scored],
                                threshold=threshold, hard_negative=[r.get("form") == "trigger_words" for r in rows])
    out["tpr_at_fpr_0.01"] = ranking.get("tpr_at_fpr_0.01")
    out["over_defense_rate"] = ranking.get("over_defense_rate")
    by_rule: dict[str, Any] = {}
    for rule in injection.RULES:
        rp = [(g, rule.name in fired) for _, g, _, fired in scored]
        fired_n = sum(p for _, p in rp)
        by_rule[rule.name] = {"fired": fired_n, "weight": rule.weight, **_prf(rp)}
    out["by_rule"] = by_rule
    for key in ("form", "lang"):
        groups: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
        for (r, g, s, _) in scored:
            groups[str(r.get(key, "?"))].append((g, s >= threshold))
        out[f"by_{key}"] = {k: {"injections_caught": _ratio(sum(p for g, p in v if g), sum(g for g, _ in v)),
                                "benign_flagged": _ratio(sum(p for g, p in v if not g), sum(not g for g, _ in v))}
                            for k, v in sorted(groups.items())}
    return out


def evaluate_pii(rows: list[dict[str, Any]]) -> dict[str, Any]:
    from tunewise.detectors.pii import PII_TYPES, find_pii

    gold_n: dict[str, int] = defaultdict(int)
    found_n: dict[str, int] = defaultdict(int)
    hit_n: dict[str, int] = defaultdict(int)
    hit_ok: dict[str, int] = defaultdict(int)
    for r in rows:
        hits = find_pii(r["text"])
        spans = r.get("spans", [])
        for s in spans:
            gold_n[s["type"]] += 1
            if any(h.type == s["type"] and h.start < s["end"] and s["start"] < h.end for h in hits):
                found_n[s["type"]] += 1
        for h in hits:
            hit_n[h.type] += 1
            if any(h.type == s["type"] and h.start < s["end"] and s["start"] < h.end for s in spans):
                hit_ok[h.type] += 1
    types = [t for t in PII_TYPES if gold_n[t] or hit_n[t]]
    by_type = {}
    for t in types:
        tp, fp, fn = found_n[t], hit_n[t] - hit_ok[t], gold_n[t] - found_n[t]
        by_type[t] = {"gold": gold_n[t], "precision": _ratio(hit_ok[t], hit_n[t]), "recall": _ratio(tp, gold_n[t]),
                      "f1": {"value": _f1(tp, fp, fn)}}
    g, f = sum(gold_n.values()), sum(found_n.values())
    h, ok = sum(hit_n.values()), sum(hit_ok.values())
    return {"n": len(rows), "overall": {"precision": _ratio(ok, h), "recall": _ratio(f, g),
                                        "f1": {"value": _f1(f, h - ok, g - f)}}, "by_type": by_type}


def evaluate(corpus: Path, splits: tuple[str, ...] = SPLITS) -> dict[str, Any]:
    corpus = Path(corpus)
    out: dict[str, Any] = {"corpus": str(corpus), "splits": {}}
    for split in splits:
        if split not in SPLITS:
            from tunewise.errors import did_you_mean

            raise BadInputError(f"unknown split '{split}'", where="--split", fix=did_you_mean(split, SPLITS))
        out["splits"][split] = {"injection": evaluate_injection(_read(corpus / f"injection-{split}.jsonl")),
                                "pii": evaluate_pii(_read(corpus / f"pii-{split}.jsonl"))}
    return out
