"""The endpoint evaluation's outputs, in the pilot's shapes: predictions.jsonl rows and the pilot.json
record (metrics with CIs from ``tunewise.pilot.metrics``, per-class, confusion matrix, latency,
throughput, usage, cost).

Classification: an answer that is not exactly one label is scored as its own ``<unparseable>`` class
(a failed request as ``<failed>``): wrong for accuracy, lowering its gold class's recall, never a
label's precision. Macro averages run over the real labels only, as ``tunewise compare`` does, and
equal scikit-learn's ``f1_score(..., labels=labels, average='macro')``; MCC is over the full matrix.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from tunewise._json import decimal_text
from tunewise.pilot import metrics as M

UNPARSEABLE, FAILED = "<unparseable>", "<failed>"
QUANTILES = (50, 90, 95, 99)


def classification_metrics(gold: list[str], pred: list[str | None], failed: list[bool], labels: list[str], *,
                           resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """M.classification's metrics and CIs, with the extra no-label columns described above."""
    k = len(labels)
    extra = [UNPARSEABLE] + ([FAILED] if any(failed) else [])
    cols = labels + extra
    K = len(cols)
    index = {lab: i for i, lab in enumerate(labels)}
    yt = np.array([index[g] for g in gold], dtype=int)
    yp = np.array([index[p] if p is not None else (cols.index(FAILED) if f else k)
                   for p, f in zip(pred, failed, strict=True)], dtype=int)
    n = len(yt)
    cm = M.confusion(yt, yp, K)

    def prf(c: np.ndarray) -> dict[str, Any]:
        return M._prf_from_cm(c)

    fns = {"macro_f1": lambda c: float(prf(c)["f"][:k].mean()),
           "macro_precision": lambda c: float(prf(c)["p"][:k].mean()),
           "macro_recall": lambda c: float(prf(c)["r"][:k].mean()),
           "micro_f1": lambda c: float(np.trace(c) / c.sum()) if c.sum() else 0.0,
           "mcc": M.mcc_from_cm}
    correct = int((yt == yp).sum())
    lo, hi = M.wilson(correct, n)
    metrics = {"accuracy": M._entry(correct / n if n else 0.0, lo, hi, "Wilson 95%")}
    boot = f"percentile bootstrap, {resamples} resamples, seed {seed}"
    for name, fn in fns.items():
        lo, hi = M.bootstrap_ci(lambda idx, fn=fn: fn(M.confusion(yt[idx], yp[idx], K)), n, resamples=resamples,
                                seed=seed)
        metrics[name] = M._entry(fn(cm), lo, hi, boot)
    metrics["micro_precision"] = dict(metrics["micro_f1"])
    metrics["micro_recall"] = dict(metrics["micro_f1"])
    p = prf(cm)
    per_class = {lab: {"precision": round(float(p["p"][i]), 6), "recall": round(float(p["r"][i]), 6),
                       "f1": round(float(p["f"][i]), 6), "support": int(p["support"][i])}
                 for i, lab in enumerate(labels)}
    return {"metrics": metrics, "per_class": per_class,
            "confusion_matrix": {"labels": cols, "rows_gold_cols_pred": cm.tolist(),
                                 "note": f"{UNPARSEABLE}: the answer was not exactly one label"
                                         + (f"; {FAILED}: the request failed" if FAILED in cols else "")},
            "n": n}


def latency_summary(cached: list[float], sent: list[float], *, warmup: int, concurrency: int) -> dict[str, Any]:
    """Client-side request latency in ms (the successful attempt only). The first ``warmup`` requests
    sent (each may open a connection) are excluded when there are enough; answers from the cache keep
    the latency measured when they were first sent."""
    warm = warmup if len(sent) > 2 * warmup else 0
    arr = np.asarray(cached + sent[warm:], dtype=float)
    if not len(arr):
        return {}
    out: dict[str, Any] = {f"p{q}": round(float(np.percentile(arr, q)), 3) for q in QUANTILES}
    out.update(mean=round(float(arr.mean()), 3), n=int(len(arr)), warmup_excluded=warm,
               unit=f"ms per request, measured client-side (network included), concurrency {concurrency}")
    if cached:
        out["from_cache"] = len(cached)
        out["note"] = f"{len(cached)} timing(s) measured when the cached answers were first sent"
    return out


def read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(path)


def write_json(path: Path, obj: Any) -> None:
    from tunewise._json import default

    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=default) + "\n", encoding="utf-8")
    tmp.replace(path)


def error_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    errs = [r["error"] for r in rows if r.get("error")]
    common = Counter(e.split(":")[0] for e in errs).most_common(5)
    return {"count": len(errs), "by_kind": dict(common), "first": errs[0] if errs else None}


# ------------------------------------------------------------------------------------- the record

def build_record(*, cfg: Any, sp: Any, test: list[Any], shots: list[Any], cached: dict[str, Any], keys: list[str],
                 res: Any, pricing: Any, est: Any, pre: dict[str, Any], max_tokens: int,
                 previous: dict[str, Any] | None, started: float) -> dict[str, Any]:
    """pilot.json for an endpoint evaluation; the prediction rows ride along under ``_rows``."""
    import time
    from datetime import datetime, timezone

    from tunewise.endpoint.pricing import money
    from tunewise.endpoint.prompts import PARSE_RULE, LabelParser

    task, labels = sp.task, sp.labels
    parser = LabelParser(labels) if task == "classification" else None
    rows: list[dict[str, Any]] = []
    lat_cached: list[float] = []
    tin = tout = estimated_usage = 0
    served: set[str] = set()
    for i, e in enumerate(test):
        gold = e.label if task == "classification" else e.target
        if keys[i] in cached or i in res.answers:
            from_cache = keys[i] in cached
            a = cached[keys[i]] if from_cache else {**res.answers[i].as_cache(), "attempts": res.answers[i].attempts}
            text = a.get("text") or ""
            usage = a.get("usage")
            if not usage:
                usage = {"prompt_tokens": pre["input_each"][i], "completion_tokens": est.texts([text])[0]}
                estimated_usage += 1
            tin += usage["prompt_tokens"]
            tout += usage["completion_tokens"]
            if a.get("response_model"):
                served.add(a["response_model"])
            if from_cache:
                lat_cached.append(float(a.get("latency_ms") or 0.0))
            row: dict[str, Any] = {"id": e.id, "gold": gold}
            if parser is not None:
                pred = parser.parse(text)
                row["prediction"] = pred
                if pred is None:
                    row["unparseable"] = True
            else:
                row["prediction"] = text
            row.update(output=text, usage=usage, latency_ms=a.get("latency_ms"), cached=from_cache,
                       attempts=0 if from_cache else a.get("attempts", 1), finish_reason=a.get("finish_reason"),
                       response_id=a.get("response_id"))
            rows.append(row)
        elif i in res.errors:
            err = res.errors[i]
            rows.append({"id": e.id, "gold": gold, "prediction": None, "error": err.message, "attempts": err.attempts,
                         **({"status": err.status} if err.status else {})})
    lat_sent = [res.answers[i].latency_ms for i in res.order]
    failed = [bool(r.get("error")) for r in rows]
    ev = _metrics(task, rows, failed, labels, test, cfg)
    answered = [r for r in rows if not r.get("error")]
    n_unp = sum(1 for r in answered if r.get("unparseable"))
    status, reason = _status(res, rows, test, task, answered, n_unp)
    warm = min(cfg.concurrency, 5)
    headline = _headline(task, cfg.metric)
    cost_now = pricing.cost(tin, tout)
    record: dict[str, Any] = {
        "schema_version": 1, "kind": "endpoint", "status": status, "reason": reason,
        "run_dir": str(cfg.out_dir), "task": task, "model": cfg.model, "model_name": cfg.model,
        "method": "few-shot" if shots else "zero-shot", "shots": len(shots),
        "endpoint": {"base_url": cfg.base_url, "model": cfg.model, "api_key_env": cfg.api_key_env,
                     "served_model": sorted(served)},
        "labels": labels, "seed": cfg.seed,
        "data": {"path": str(cfg.data), "splits": sp.sizes(), "split": sp.how, "limit": cfg.limit},
        "headline_metric": headline, "metrics": ev.get("metrics") or {},
        "metrics_source": f"held-out test split, n={len(rows)}" + (f" of {len(test)} (partial)" if len(rows) < len(test)
                                                                  else "") + f", endpoint {cfg.model}",
        "per_class": ev.get("per_class"), "confusion_matrix": ev.get("confusion_matrix"),
        "n_test": len(test), "n_evaluated": len(rows),
        "unparseable": {"count": n_unp, "share": round(n_unp / len(answered), 6) if answered else None,
                        "rule": PARSE_RULE if task == "classification" else None,
                        "examples": [r["output"][:200] for r in answered if r.get("unparseable")][:5]},
        "failed": error_summary(rows),
        "latency_ms": latency_summary(lat_cached, lat_sent, warmup=warm, concurrency=cfg.concurrency),
        "throughput": _throughput(res, lat_sent, rows, cfg, previous),
        "usage": {"prompt_tokens": tin, "completion_tokens": tout, "total_tokens": tin + tout,
                  "source": "the endpoint's responses (usage field)",
                  "rows_estimated": estimated_usage or None},
        "eval_cost_usd": money(cost_now),
        "cost": {"pricing": pricing.as_dict(), "eval_cost_usd": money(cost_now),
                 "spent_this_run_usd": money(res.spent) if pricing.known else None,
                 "max_usd": decimal_text(cfg.max_usd) if cfg.max_usd is not None else None,
                 "estimate_before": {k: (money(v) if k.startswith("cost") else v) for k, v in pre.items()
                                     if not k.endswith("_each")},
                 "note": "cost of every evaluated answer at the price above, from the usage the endpoint reported"
                         if pricing.known else f"unknown: {pricing.reason}"},
        "requests": {"total": len(test), "sent": len(res.order) + len(res.errors), "from_cache": len(lat_cached),
                     "retries": res.retries, "max_tokens": max_tokens, "temperature": 0},
        "prompt": {"instruction": cfg.prompt, "shots": [{"id": s.id, "text": s.text, "output": s.output}
                                                        for s in shots], "parse_rule": PARSE_RULE},
        "stopped": ({"reason": res.stopped, "message": res.message,
                     **({"what": res.fatal.what, "why": res.fatal.why, "fix": res.fatal.fix} if res.fatal else {})}
                    if res.stopped else None),
        "predictions": str(cfg.out_dir / "predictions.jsonl"),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": round(time.perf_counter() - started, 2),
    }
    if task == "generation":
        for r, em, f1 in zip(rows, ev["per_item"]["exact_match"], ev["per_item"]["token_f1"], strict=True):
            r["scores"] = {"exact_match": em, "token_f1": round(f1, 6)}
    record["_rows"] = rows
    return record


def _metrics(task: str, rows: list[dict[str, Any]], failed: list[bool], labels: list[str], test: list[Any],
             cfg: Any) -> dict[str, Any]:
    if not rows:
        return {"per_item": {"exact_match": [], "token_f1": []}}
    if task == "classification":
        return classification_metrics([r["gold"] for r in rows], [r["prediction"] for r in rows], failed, labels,
                                      resamples=cfg.bootstrap, seed=cfg.seed)
    source = {e.id: e.text for e in test}
    return M.generation([r["prediction"] or "" for r in rows], [r["gold"] or "" for r in rows],
                        [source[r["id"]] for r in rows], resamples=cfg.bootstrap, seed=cfg.seed)


def _status(res: Any, rows: list[dict[str, Any]], test: list[Any], task: str, answered: list[dict[str, Any]],
            n_unp: int) -> tuple[str, str | None]:
    if res.stopped == "interrupted":
        return "interrupted", f"interrupted after {len(rows)} of {len(test)} examples"
    if res.stopped or len(rows) < len(test) or any(r.get("error") for r in rows):
        errs = [r["error"] for r in rows if r.get("error")]
        why = res.message or (f"{len(errs)} request(s) failed (the first: {errs[0]})" if errs
                              else "not every example was evaluated")
        return "partial", f"{why}; {len(answered)} of {len(test)} examples answered"
    if task == "classification" and answered and n_unp == len(answered):
        return "unparseable", (f"none of the {len(answered)} answers was exactly one label "
                               f"({', '.join(sorted({r['gold'] for r in rows}))}); first answer: "
                               f"{answered[0]['output'][:120]!r}")
    return "ok", None


def _headline(task: str, metric: str | None) -> str:
    if task == "classification":
        return metric if metric in ("macro_f1", "accuracy", "micro_f1", "mcc") else "macro_f1"
    return metric if metric in ("exact_match", "token_f1") else "token_f1"


def _throughput(res: Any, lat_sent: list[float], rows: list[dict[str, Any]], cfg: Any,
                previous: dict[str, Any] | None) -> dict[str, Any]:
    if res.order and res.seconds > 0:
        toks = sum((res.answers[i].usage or {}).get("completion_tokens", 0) for i in res.order)
        return {"endpoint": {"examples_per_s": round(len(res.order) / res.seconds, 3),
                             "completion_tokens_per_s": round(toks / res.seconds, 1),
                             "requests_sent": len(res.order), "seconds": round(res.seconds, 3),
                             "concurrency": cfg.concurrency},
                "unit": "answered requests/s at the given concurrency, measured client-side over this run"}
    old = ((previous or {}).get("throughput") or {}).get("endpoint")
    if isinstance(old, dict) and old.get("requests_sent"):
        return {"endpoint": old, "unit": (previous or {})["throughput"].get("unit"),
                "note": "every answer came from the cache; throughput as measured by the run that sent them"}
    return {"endpoint": None, "note": "every answer came from the cache; no throughput was measured"}
