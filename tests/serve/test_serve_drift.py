"""Drift end to end: requests through the real server, then the monitor (library and CLI).

A sample of the reference sent to the sentiment model is not flagged; BBC News articles sent to the
same model are flagged, and the alert fires, is printed and is written to the store.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tunewise_serve_testkit import bbc_texts, make_key  # noqa: E402 - loaded by conftest

pytestmark = pytest.mark.slow


def _send(server, db: str, name: str, texts: list[str]) -> list[dict]:
    """Batches of 8, each with its own key (each text costs a rate-limit token; burst 30), so the key
    that made a request still has tokens left to send its feedback (only that key may)."""
    out = []
    with httpx.Client(base_url=server.url, timeout=120) as c:
        for i in range(0, len(texts), 8):
            key = make_key(db, f"{name}-{i}")[1]
            r = c.post("/v1/classify", json={"texts": texts[i:i + 8]}, headers={"Authorization": f"Bearer {key}"})
            assert r.status_code == 200, r.text
            out.extend({**res, "key": key} for res in r.json()["results"])
    return out


def doc_terms(path) -> set:
    return {t["term"] for t in json.loads(path.read_text())["current"]["drift"]["explanation"]["window_terms"]}


def _window(t0: datetime, t1: datetime) -> tuple[timedelta, datetime]:
    end = t1 + timedelta(milliseconds=1)
    return end - t0, end


@pytest.fixture(scope="module")
def reference_rows(run_dir):
    return [json.loads(line) for line in (run_dir / "reference.jsonl").read_text().splitlines() if line.strip()]


def test_reference_sample_is_not_drift_and_feedback_quality_has_ci(server, server_db, run_dir, reference_rows):
    from tunewise.monitor import open_store, run_monitor

    sample = reference_rows[:120]
    t0 = datetime.now(UTC)
    results = _send(server, server_db, "drift-ref", [r["text"] for r in sample])
    with httpx.Client(base_url=server.url) as c:   # feedback comes from the key that made the request
        for res, row in zip(results[:25], sample[:25], strict=True):
            assert c.post("/v1/feedback", json={"id": res["id"], "label": row["label"]},
                          headers={"Authorization": f"Bearer {res['key']}"}).status_code == 200
    t1 = datetime.now(UTC)
    window, end = _window(t0, t1)
    with open_store(server_db) as store:
        doc = run_monitor(run_dir, store, window=window, windows=1, end=end, save=False)
    cur = doc["current"]
    assert cur["volume"]["requests"] == 120
    d = cur["drift"]
    assert d["dataset_drift"] is False and d["features_drifted"] == []
    assert d["domain_classifier"]["drifted"] is False and d["domain_classifier"]["statistic"] < 0.55
    assert d["embedding"]["drifted"] is False
    tested = {f["feature"] for f in d["features"]}
    assert tested | {r["feature"] for r in d["redundant_features"]} == {"text_chars", "token_count", "oov_rate",
                                                                         "predicted_label"}
    assert {"token_count", "oov_rate", "predicted_label"} <= tested      # text_chars may be dropped as redundant
    fb = cur["quality"]["feedback"]
    assert fb["n"] == 25 and fb["accuracy"]["ci_low"] <= fb["accuracy"]["value"] <= fb["accuracy"]["ci_high"]
    assert cur["quality"]["cbpe"]["n"] == 120 and "concept drift" in cur["quality"]["cbpe"]["caveat"]
    assert cur["latency_ms"]["n"] == 120 and cur["latency_ms"]["p50"] <= cur["latency_ms"]["p95"]
    assert float(cur["spend_usd"]["total"]) > 0


def test_bbc_news_to_a_sentiment_model_is_drift_and_alerts(server, server_db, run_dir, cli, tmp_path):
    from tunewise.monitor import open_store

    t0 = datetime.now(UTC)
    _send(server, server_db, "drift-bbc", bbc_texts(96, max_chars=1500))
    t1 = datetime.now(UTC)
    window, end = _window(t0, t1)
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text("alerts:\n"
                      "  - {name: dataset drift, metric: drift.dataset_drift, op: '==', threshold: true}\n"
                      "  - {name: text looks foreign, metric: drift.domain_classifier.statistic, op: '>', threshold: 0.8}\n"
                      "  - {name: p95 latency, metric: latency_ms.p95, op: '>', threshold: 600000}\n")
    out = tmp_path / "monitor.json"
    res = cli("monitor", run_dir, "--db", server_db, "--window", f"{window.total_seconds():.3f}s", "--windows", "1",
              "--end", end.isoformat(), "--json", out, "--alerts", alerts, "--fail-on-alert")
    assert res.code == 3, res.output
    assert "Traceback" not in res.output
    assert "ALERT dataset drift: drift.dataset_drift = True == True" in res.stderr
    assert "ALERT text looks foreign" in res.stderr and "p95 latency" not in res.stderr
    assert "drift, most recent window" in res.stdout and "CBPE" in res.stdout
    assert "what the window says more often than the reference:" in res.stdout and "'said'" in res.stdout
    assert doc_terms(out) >= {"said"}
    doc = json.loads(out.read_text())
    d = doc["current"]["drift"]
    assert d["dataset_drift"] is True
    assert d["domain_classifier"]["statistic"] > 0.9 and d["embedding"]["drifted"] is True
    assert {"token_count", "oov_rate"} <= set(d["features_drifted"])
    assert [a["name"] for a in doc["alerts"]] == ["dataset drift", "text looks foreign"]
    with open_store(server_db) as store:
        stored = [a["name"] for a in store.list_alerts(since=t0)]
        assert stored == ["dataset drift", "text looks foreign"]
        assert store.latest_report()["current"]["drift"]["dataset_drift"] is True


def test_monitor_cli_bad_input(cli, run_dir, server_db, tmp_path):
    res = cli("monitor", run_dir, "--db", server_db, "--window", "1 fortnight")
    assert res.code == 2 and "invalid window" in res.stderr and "Traceback" not in res.output
    res = cli("monitor", tmp_path, "--db", server_db)
    assert res.code == 2 and "incomplete" in res.stderr
    bad = tmp_path / "a.yaml"
    bad.write_text("alerts:\n  - {metric: latency_ms.p95, op: '>>', threshold: 1}\n")
    res = cli("monitor", run_dir, "--db", server_db, "--alerts", bad)
    assert res.code == 2 and "a.yaml:2" in res.stderr and "unknown op" in res.stderr
