"""`tunewise monitor` on a causal-LM (SmolLM2) run with embeddings on: it has no encoder embeddings, so
embedding drift says why instead of crashing; the other checks still run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

import tunewise_serve_testkit as kit  # noqa: E402 - loaded by tests/conftest.py

pytestmark = pytest.mark.slow


def test_monitor_on_a_smollm2_run_with_embeddings_on(tmp_path):
    from tunewise.monitor import open_store, run_monitor
    from tunewise.monitor.scope import served_names

    run_dir = kit.smollm2_run_dir()
    end = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    rows = [{"id": f"c{i}", "ts": end - timedelta(minutes=30, seconds=-i), "key_id": "k", "endpoint": "chat",
             "status": 200, "item": 0, "input_redacted": f"Topic of: markets rallied as shares rose {i}",
             "output": "business", "scores": None, "confidence": None, "text_chars": 40, "tokens_in": 12,
             "tokens_out": 2, "latency_ms": 80.0, "model_ms": 70.0, "cost_usd": Decimal("0.0000068"),
             "guard_action": "allow", "guard_decisions": [], "model": served_names(run_dir)[0]} for i in range(25)]
    with open_store(f"sqlite:///{tmp_path / 's.db'}") as store:
        store.insert_requests(rows)
        doc = run_monitor(run_dir, store, window=timedelta(hours=1), windows=1, end=end, embeddings=True,
                          save=False)
    cur = doc["current"]
    assert doc["task"] == "generation" and cur["volume"]["requests"] == 25
    emb = cur["drift"]["embedding"]
    assert emb["statistic"] is None and "no encoder embeddings" in emb["note"]
    assert cur["drift"]["features_tested"] >= 2 and cur["drift"]["domain_classifier"]["statistic"] is not None
