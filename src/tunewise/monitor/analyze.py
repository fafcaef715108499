"""`tunewise monitor`: compare windows of stored requests with the training reference.

For each window: volume, status and guardrail counts, latency percentiles, spend, feature drift
(text length, token count, out-of-vocabulary rate, predicted label), the TF-IDF domain classifier and
dataset drift; feedback quality with CIs and the CBPE-style label-free estimate. For the most recent
window also embedding drift with the pilot's encoder. Alerts are checked on the most recent window.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from tunewise._json import decimal_text
from tunewise.errors import TunewiseError
from tunewise.monitor import drift, quality, refcache
from tunewise.monitor.aggregate import QUANTILES
from tunewise.monitor.reference import load_reference
from tunewise.monitor.schema import utcnow
from tunewise.monitor.scope import served_names
from tunewise.monitor.uptime import uptime_summary

SCHEMA_VERSION = 1
PREFERRED_FEATURES = ("token_count", "oov_rate", "text_chars")   # kept first when two are redundant
_Q = Decimal("1e-12")


def parse_window(text: str) -> timedelta:
    """'15m', '1h', '2d', '90s' -> timedelta."""
    import re

    from tunewise.errors import BadInputError

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", str(text))
    if not m or float(m.group(1)) <= 0:
        raise BadInputError(f"invalid window '{text}'", where="--window", why="expected a number and a unit",
                            fix="Use e.g. 90s, 15m, 1h or 7d")
    return timedelta(seconds=float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)])


def operational_summary(store: Any, start: datetime, end: datetime, *,
                        models: Sequence[str] | None = None) -> dict[str, Any]:
    """Volume, status, guardrails, latency and spend for the window ``[start, end)`` (no model needed),
    over the requests of ``models`` (None: every stored request).

    Every figure is aggregated by the store's database (``Store.bucket_series`` and
    ``Store.guardrail_counts``); no request row is loaded. Percentiles (p50/p90/p95/p99) are the linear
    definition (numpy's default, Postgres' percentile_cont), over served requests. Uptime spend is the
    machines', whichever models they served."""
    window = end - start
    agg = store.bucket_series(start=start, end=end, buckets=1, quantiles=QUANTILES,
                              timings=("latency_ms", "model_ms"), models=models)
    t = agg.total
    cost, n = t.spend_usd, t.requests
    hours = Decimal(str(window.total_seconds())) / Decimal(3600)
    guard = store.guardrail_counts(start=start, end=end, models=models)
    return {
        "volume": {"requests": n, "served": t.served, "blocked": t.blocked, "flagged": t.flagged,
                   "per_hour": float(n / (window.total_seconds() / 3600))},
        "latency_ms": t.timings["latency_ms"].as_dict(),
        "model_ms": t.timings["model_ms"].as_dict(),
        "spend_usd": {"total": cost, "per_1k_requests": (cost / n * 1000).quantize(_Q) if n else None,
                      "per_hour": (cost / hours).quantize(_Q) if hours else None,
                      "source": "self-hosted compute time x hourly price given to `tunewise serve`"},
        "spend_uptime": _uptime(store, start, end, cost, models),
        "tokens": {"input": t.tokens_in, "output": t.tokens_out},
        "guardrails": guard,
    }


def _uptime(store: Any, start: datetime, end: datetime, cost: Decimal, models: Sequence[str] | None) -> dict[str, Any]:
    """The machines' uptime spend next to these models' request spend. When the machines also served
    other models, idle capacity is the uptime less every served model's compute, and ``shared_with``
    names the others (the machines' cost is theirs together; it is not split)."""
    up = uptime_summary(store, start, end, requests_usd=cost)
    if models is None:
        return up
    on_machines = sorted({m for iv in store.uptime_intervals(start=start, end=end) for m in iv.models})
    others = [m for m in on_machines if m not in models]
    if others and up.get("idle_usd") is not None:
        everyone = store.bucket_series(start=start, end=end, buckets=1, timings=(),
                                       models=sorted({*on_machines, *models})).total.spend_usd
        up["idle_usd"] = (up["usd"] - everyone).quantize(_Q)
        up["shared_with"] = others
    return up


def quality_summary(rows: list[dict[str, Any]], *, bootstrap: int = 1000,
                    labels: list[str] | None = None, calibration: Any = None) -> dict[str, Any]:
    """``labels``: the task's label set (the pilot's training labels), which macro-F1 averages over;
    ``calibration``: (confidence, correct?) of the pilot's held-out predictions, for calibrated CBPE."""
    served = [r for r in rows if r["status"] == 200 and r["endpoint"] == "classify"]
    fb = [r for r in served if r.get("feedback_label") is not None]
    conf = [r["confidence"] for r in served if r["confidence"] is not None]
    out = {"feedback": quality.feedback_quality([r["feedback_label"] for r in fb], [r["output"] for r in fb],
                                                labels=labels, bootstrap=bootstrap),
           "cbpe": quality.cbpe_accuracy(conf), "cbpe_calibrated": quality.cbpe_calibrated(conf, calibration)}
    return out


class _Features:
    """Per-text features computed the same way for reference and current texts."""

    def __init__(self, ref_texts: list[str], predictor: Any | None) -> None:
        self.vocab = drift.Vocabulary(ref_texts)  # the redacted texts, as stored requests are
        self.predictor = predictor

    def tokens(self, texts: list[str]) -> list[int]:
        if self.predictor is not None and hasattr(self.predictor, "count_tokens"):
            return [int(self.predictor.count_tokens(t)) for t in texts]
        return [len(drift.words(t)) for t in texts]

    def table(self, texts: list[str]) -> dict[str, list[float]]:
        return {"text_chars": [float(len(t)) for t in texts], "token_count": [float(x) for x in self.tokens(texts)],
                "oov_rate": [self.vocab.oov_rate(t) for t in texts]}


def _redact_all(texts: list[str]) -> list[str]:
    """Redact reference texts like the server redacts requests, so placeholders do not look like drift."""
    try:
        from tunewise.detectors import pii
    except ImportError:  # pragma: no cover - the audit's detector is part of the package
        return texts
    return [pii.redact(t) for t in texts]


def drift_for(ref_texts: list[str], ref_table: dict[str, list[float]], ref_preds: list[str] | None,
              cur_rows: list[dict[str, Any]], feats: _Features, *, seed: int = 0) -> dict[str, Any]:
    served = [r for r in cur_rows if r["status"] == 200]
    cur_texts = [r["input_redacted"] for r in served]
    cur_preds = [r["output"] for r in served if r["endpoint"] == "classify"] if ref_preds is not None else None
    return {**feature_drift(ref_table, ref_preds, feats.table(cur_texts), cur_preds),
            "domain_classifier": drift.domain_classifier(ref_texts, cur_texts, seed=seed)}


def feature_drift(ref_table: dict[str, list[float]], ref_preds: list[str] | None, cur_table: dict[str, list[float]],
                  cur_preds: list[str] | None) -> dict[str, Any]:
    """Per-feature tests (redundant features dropped, Holm across the rest) and the dataset-drift share."""
    dropped = drift.redundant(ref_table, prefer=PREFERRED_FEATURES)
    gone = {d["feature"] for d in dropped}
    features = [drift.numeric_drift(name, ref_table[name], cur_table[name]) for name in ref_table if name not in gone]
    if ref_preds is not None and cur_preds is not None:
        features.append(drift.categorical_drift("predicted_label", ref_preds, cur_preds))
    drift.holm(features)
    return {"features": features, "redundant_features": dropped, **drift.dataset_drift(features)}


def run_monitor(run_dir: Path, store: Any, *, window: timedelta = timedelta(hours=1), windows: int = 6,
                end: datetime | None = None, rules: list | None = None, predictor: Any | None = None,
                reference_limit: int = 1000, embeddings: bool = True, bootstrap: int = 1000,
                seed: int = 0, save: bool = True, progress: Any | None = None,
                models: Sequence[str] | None = None) -> dict[str, Any]:
    """The monitor document for the last ``windows`` windows ending at ``end`` (default now).

    ``store`` is a ``tunewise.monitor.Store``; ``rules`` from ``alerts.load_rules``. Alerts that fire
    on the most recent window are written to the store (and returned under ``alerts``). Only the
    requests of ``models`` are read (default: the run's ``scope.served_names``), so other runs served
    into the same store do not mix in.
    """
    from tunewise.monitor import alerts as alerts_mod

    def step(msg: str) -> None:
        if progress is not None:
            progress(msg)

    if windows < 1:
        from tunewise.errors import BadInputError

        raise BadInputError(f"windows must be at least 1 (got {windows})", where="windows",
                            fix="Ask for one or more windows")
    run_dir = Path(run_dir)
    end = end or utcnow()
    step("loading the reference and the model")
    reference = load_reference(run_dir, limit=reference_limit, seed=seed)
    if predictor is None:
        from tunewise.pilot import load_predictor

        predictor = load_predictor(run_dir)
    ref_texts = _redact_all(reference.texts)
    feats = _Features(ref_texts, predictor)
    ref_table = feats.table(ref_texts)
    is_classifier = getattr(predictor, "kind", "classification") == "classification"
    names = served_names(run_dir, predictor)
    models = list(models) if models is not None else names
    ref_preds = None
    if is_classifier:
        step(f"predicting {len(ref_texts)} reference texts")
        ref_preds = refcache.cached(run_dir, ref_texts, "predicted-labels",
                                    lambda: [p["label"] for p in _batched(predictor.predict, ref_texts)])

    calibration = quality.load_calibration(run_dir) if is_classifier else None
    out_windows = []
    for k in range(windows, 0, -1):
        w_start, w_end = end - k * window, end - (k - 1) * window
        step(f"window {w_start:%H:%M}-{w_end:%H:%M}")
        rows = store.fetch_requests(start=w_start, end=w_end, models=models)   # the last window's are used below too
        summary: dict[str, Any] = {"start": w_start, "end": w_end,
                                   **operational_summary(store, w_start, w_end, models=models)}
        summary["drift"] = drift_for(ref_texts, ref_table, ref_preds, rows, feats, seed=seed)
        summary["quality"] = quality_summary(rows, bootstrap=bootstrap,
                                             labels=list(getattr(predictor, "labels", None) or []) or None,
                                             calibration=calibration)
        out_windows.append(summary)

    current = out_windows[-1]
    cur_texts = [r["input_redacted"] for r in rows if r["status"] == 200]
    from tunewise.monitor.explain import explain

    current["drift"]["explanation"] = explain(ref_texts, cur_texts)
    no_encoder = getattr(predictor, "arch", "encoder") not in ("encoder", "sklearn")
    if embeddings and hasattr(predictor, "encoder_embed") and no_encoder:
        current["drift"]["embedding"] = {"statistic": None, "drifted": None,
                                         "note": f"no encoder embeddings for a {predictor.arch} model; "
                                                 "the TF-IDF domain classifier covers text drift"}
    elif embeddings and hasattr(predictor, "encoder_embed"):
        step("embedding drift")
        try:
            ref_emb = refcache.cached(run_dir, ref_texts, "embeddings", lambda: predictor.encoder_embed(ref_texts))
            cur_emb = predictor.encoder_embed(cur_texts) if cur_texts else []
            current["drift"]["embedding"] = drift.embedding_drift(ref_emb, cur_emb, seed=seed,
                                                                  ref_texts=ref_texts, cur_texts=cur_texts)
        except (NotImplementedError, TunewiseError) as exc:   # the predictor says it cannot embed
            current["drift"]["embedding"] = {"statistic": None, "drifted": None, "note": str(exc)}
    else:
        current["drift"]["embedding"] = {"statistic": None, "drifted": None,
                                         "note": "the model has no encoder embeddings (e.g. TF-IDF baseline)"}

    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": utcnow(),
        "run_dir": str(run_dir),
        "model": names[0],
        "models": models,
        "task": "classification" if is_classifier else "generation",
        "store": _safe(store.url),
        "window": {"length_s": window.total_seconds(), "count": windows, "end": end},
        "reference": {"path": str(reference.path), "n_total": reference.total, "n_used": len(reference.texts)},
        "current": current,
        "windows": out_windows,
        "defaults": {"alpha": drift.ALPHA, "small_n": drift.SMALL_N, "wasserstein": drift.WASSERSTEIN_THRESHOLD,
                     "jensen_shannon": drift.JS_THRESHOLD, "psi_bands": list(drift.PSI_BANDS),
                     "dataset_drift_share": drift.DATASET_DRIFT_SHARE,
                     "correction": "Holm across the p-value tests", "redundant_spearman": drift.REDUNDANT_RHO,
                     "min_expected_count": drift.MIN_EXPECTED, "domain_auc": drift.DOMAIN_AUC_THRESHOLD,
                     "source": "statistics.md (Evidently / NannyML defaults)"},
    }
    fired: list[dict[str, Any]] = []
    if rules:
        fired = alerts_mod.evaluate(rules, _jsonable(current))
        store.add_alerts([{**a, "ts": utcnow(), "window_start": current["start"], "window_end": current["end"]}
                          for a in fired])
    doc["alerts"] = fired
    doc = _jsonable(doc)
    if save:
        store.save_report(doc, window_start=current["start"], window_end=current["end"])
    return doc


def _batched(fn, texts: list[str], size: int = 64) -> list[Any]:  # noqa: ANN001
    out: list[Any] = []
    for i in range(0, len(texts), size):
        out.extend(fn(texts[i:i + size]))
    return out


def _safe(url: str) -> str:
    from tunewise.monitor.store import safe_url

    return safe_url(url)


def _jsonable(obj: Any) -> Any:
    """Decimals as strings (money stays exact), datetimes ISO, numpy scalars as Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Decimal):
        return decimal_text(obj)
    if isinstance(obj, datetime):
        return obj.isoformat()
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        return obj.item()
    return obj
