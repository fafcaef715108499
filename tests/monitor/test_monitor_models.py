"""Two served runs, one store: every request query reads one model's rows when asked (``models=``),
against a plain Python count over the inserted rows, on SQLite and PostgreSQL (the ``store`` fixture);
``models=None`` still reads every row. Then the ids a run is stored under, and the CLI line for a
store that holds requests, but none of the run's."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SPAN = timedelta(hours=1)
A, B = "minilm-full", "tfidf-logreg-baseline"
CASES = ([A], [B], [A, B], [B, "not-served"], [], None)


def _rows(n: int = 400, seed: int = 5) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        status = 200 if rng.random() < 0.85 else 400
        rows.append({
            "id": f"req-{i:04d}", "ts": T0 + timedelta(seconds=rng.uniform(0, SPAN.total_seconds() + 600)),
            "key_id": "k1", "endpoint": "classify", "status": status, "item": 0, "input_redacted": f"text {i}",
            "output": rng.choice(["fresh", "rotten"]) if status == 200 else None, "scores": None,
            "confidence": None, "text_chars": 6, "tokens_in": rng.randint(2, 40), "tokens_out": 0,
            "latency_ms": round(rng.lognormvariate(3, 0.6), 3), "model_ms": round(rng.uniform(1, 30), 3),
            "cost_usd": Decimal(rng.randint(0, 10**6)).scaleb(-12),
            "guard_action": "block" if status == 400 else rng.choice(["allow", "allow", "flag"]),
            "guard_decisions": [{"stage": "input", "rule": r, "action": "flag", "detail": ""}
                                for r in rng.sample(["pii.email", "injection.override"], rng.randint(0, 2))],
            "model": A if rng.random() < 0.6 else B})
    return rows


@pytest.fixture
def two_models(store):
    rows = _rows()
    store.insert_requests(rows)
    for r in rows[::3]:                              # feedback on a third of them, from the key that sent them
        r["feedback_label"] = "fresh" if int(r["id"][-4:]) % 2 else "rotten"
        assert store.add_feedback(r["id"], key_id="k1", label=r["feedback_label"])
    assert {r["model"] for r in rows} == {A, B}
    return store, rows


def _of(rows: list[dict], models: list[str] | None, start: datetime = T0, end: datetime = T0 + SPAN) -> list[dict]:
    return [r for r in rows if (models is None or r["model"] in models) and start <= r["ts"] < end]


@pytest.mark.parametrize("models", CASES)
def test_counts_and_fetch_are_one_models_rows(two_models, models):
    store, rows = two_models
    everything = [r for r in rows if models is None or r["model"] in models]
    assert store.count_requests(models=models) == len(everything)
    assert store.count_requests(status=200, models=models) == sum(r["status"] == 200 for r in everything)
    part = _of(rows, models)
    assert store.count_requests(start=T0, end=T0 + SPAN, models=models) == len(part)
    got = store.fetch_requests(start=T0, end=T0 + SPAN, models=models)
    assert [r["id"] for r in got] == [r["id"] for r in sorted(part, key=lambda r: (r["ts"], r["id"]))]
    assert {r["id"]: r["feedback_label"] for r in got} == {r["id"]: r.get("feedback_label") for r in part}
    rng = store.time_range(models=models)
    assert rng == ((min(r["ts"] for r in everything), max(r["ts"] for r in everything)) if everything else None)


@pytest.mark.parametrize("models", CASES)
def test_bucket_totals_and_guardrails_are_one_models_rows(two_models, models):
    store, rows = two_models
    agg = store.bucket_series(start=T0, end=T0 + SPAN, buckets=4, timings=("latency_ms",), models=models)
    for b in [*agg.buckets, agg.total]:
        part = _of(rows, models, b.start, b.end)
        served = [r for r in part if r["status"] == 200]
        fb = [r for r in served if r.get("feedback_label") is not None]
        assert (b.requests, b.served) == (len(part), len(served))
        assert (b.blocked, b.flagged) == (sum(r["guard_action"] == "block" for r in part),
                                          sum(r["guard_action"] == "flag" for r in part))
        assert b.spend_usd == sum((r["cost_usd"] for r in part), Decimal(0))
        assert b.tokens_in == sum(r["tokens_in"] for r in part)
        assert (b.feedback_n, b.feedback_correct) == (len(fb), sum(r["feedback_label"] == r["output"] for r in fb))
        if b is not agg.total:
            lat = b.timings["latency_ms"]
            assert lat.n == len(served)
            if served:
                want = np.percentile([r["latency_ms"] for r in served], [50, 95])
                assert lat.at(0.5) == pytest.approx(want[0], rel=1e-9)
                assert lat.at(0.95) == pytest.approx(want[1], rel=1e-9)
    part = _of(rows, models)
    got = store.guardrail_counts(start=T0, end=T0 + SPAN, models=models)
    assert got["by_action"] == dict(Counter(r["guard_action"] for r in part))
    assert got["by_rule"] == dict(Counter(d["rule"] for r in part for d in r["guard_decisions"]))


def test_no_filter_is_every_row_and_model_ids_count_them(two_models):
    store, rows = two_models
    both = store.bucket_series(start=T0, end=T0 + SPAN, models=[A, B]).total
    alone = [store.bucket_series(start=T0, end=T0 + SPAN, models=[m]).total for m in (A, B)]
    every = store.bucket_series(start=T0, end=T0 + SPAN).total

    def figures(b):  # noqa: ANN001, ANN202 - the exact ones (a float sum may round in another row order)
        return (b.requests, b.served, b.blocked, b.flagged, b.spend_usd, b.tokens_in, b.feedback_n, b.feedback_correct)

    assert figures(every) == figures(both)
    assert every.requests == len(_of(rows, None)) == alone[0].requests + alone[1].requests
    assert every.spend_usd == alone[0].spend_usd + alone[1].spend_usd
    assert store.count_requests() == len(rows)
    counts = Counter(r["model"] for r in rows)
    assert store.model_ids() == dict(counts.most_common())
    assert list(store.model_ids()) == [m for m, _ in counts.most_common()]      # most requests first
    with pytest.raises(TypeError, match="not the string"):
        store.count_requests(models=A)                                        # not a list of one-letter ids


def test_uptime_intervals_name_their_models(store):
    for rid, model in (("r1", A), ("r2", B)):
        store.record_uptime("start", replica_id=rid, instance="vm-1", ts=T0, usd_per_hour=Decimal("0.5"), model=model)
        store.record_uptime("stop", replica_id=rid, instance="vm-1", ts=T0 + SPAN, model=model)
    store.record_uptime("start", replica_id="r3", instance="vm-2", ts=T0, usd_per_hour=Decimal("0.5"))
    store.record_uptime("stop", replica_id="r3", instance="vm-2", ts=T0 + SPAN)
    got = {iv.replica_id: iv.models for iv in store.uptime_intervals(start=T0, end=T0 + SPAN)}
    assert got == {"r1": (A,), "r2": (B,), "r3": ()}


def test_served_names_from_config_or_predictor(tmp_path):
    from tunewise.monitor.scope import served_names

    run = tmp_path / "rt-minilm"
    run.mkdir()
    assert served_names(run) == ["rt-minilm"]                              # no config.json: the directory's name
    (run / "config.json").write_text(json.dumps({"model": {"name": "minilm", "arch": "encoder"}, "method": "full"}))
    assert served_names(run) == [A, "rt-minilm"]
    assert served_names(run, SimpleNamespace(model_name="minilm", method="lora")) == ["minilm-lora", "rt-minilm"]
    assert served_names(tmp_path / "minilm-full", {"model": {"name": "minilm"}, "method": "full"}) == [A]


def _main(capsys, *args) -> tuple[int, str, str]:
    from tunewise.cli.app import main

    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    cap = capsys.readouterr()
    return (0 if exc.value.code is None else exc.value.code), cap.out, cap.err


def test_monitor_cli_names_the_stored_ids_when_none_is_the_runs(review_run, tmp_path, capsys):
    from tunewise.monitor.store import open_store

    run_dir: Path = review_run / "pilots" / "tfidf"                         # stored as tfidf-logreg-baseline
    end = datetime.now(UTC)
    db = f"sqlite:///{tmp_path / 's.db'}"
    rows = [{**r, "ts": end - timedelta(minutes=10, seconds=-i), "model": "other-run"}
            for i, r in enumerate(_rows(12))]
    with open_store(db) as store:
        store.insert_requests(rows)
    args = ("monitor", run_dir, "--db", db, "--window", "1h", "--windows", "1", "--no-embeddings", "--json", "-")
    code, out, err = _main(capsys, *args)
    assert code == 0, err
    assert "no stored request was answered by tfidf-logreg-baseline or tfidf" in err
    assert "other-run (12 requests)" in err and "--model other-run" in err and "Traceback" not in err
    doc = json.loads(out)                                                  # stdout is the JSON document alone
    assert doc["models"] == ["tfidf-logreg-baseline", "tfidf"] and doc["current"]["volume"]["requests"] == 0
    code, out, err = _main(capsys, *args, "--model", "other-run")
    assert code == 0, err
    assert "no stored request" not in err
    doc = json.loads(out)
    assert doc["models"] == ["other-run"] and doc["current"]["volume"]["requests"] == 12


def test_a_shared_machines_idle_capacity_is_what_no_served_model_used(two_models):
    from tunewise.monitor.analyze import operational_summary

    store, rows = two_models
    # one replica served both models (a multi-run `tunewise serve` writes their ids comma-joined)
    store.record_uptime("start", replica_id="r1", instance="vm-1", ts=T0, usd_per_hour=Decimal("0.5"),
                        price_source="--cost-per-hour", model=f"{A},{B}")
    store.record_uptime("stop", replica_id="r1", instance="vm-1", ts=T0 + SPAN, model=f"{A},{B}")
    mine = sum((r["cost_usd"] for r in _of(rows, [A])), Decimal(0))
    both = sum((r["cost_usd"] for r in _of(rows, None)), Decimal(0))
    up = operational_summary(store, T0, T0 + SPAN, models=[A])["spend_uptime"]
    assert up["usd"] == Decimal("0.5")
    assert up["per_request_usd"] == mine                        # this run's requests only
    assert up["idle_usd"] == up["usd"] - both and up["shared_with"] == [B]
    alone = operational_summary(store, T0, T0 + SPAN, models=[A, B])["spend_uptime"]
    assert "shared_with" not in alone and alone["idle_usd"] == up["idle_usd"]
