"""`tunewise eval` against a real OpenAI-compatible server: `tunewise serve` on the
bundled SmolLM2-135M-Instruct (a zero-shot pilot run), over HTTP, with a real API key. Metrics equal
scikit-learn on the written predictions; usage equals the server's stored counts; a second run sends
nothing; --max-usd stops the run. (`tunewise run` with an endpoint candidate: test_plan_endpoint.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn import metrics as skm

import tunewise_serve_testkit as kit  # noqa: E402 - loaded by tests/conftest.py
from fakeserver import read_record, read_rows

pytestmark = pytest.mark.slow


def _smollm2_run_dir() -> Path:
    return kit.smollm2_run_dir()


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    d = tmp_path_factory.mktemp("smollm2-serve")
    db = f"sqlite:///{d / 'requests.db'}"
    server = kit.ServerProcess(_smollm2_run_dir(), db, ("--max-text-chars", "8000", "--rate", "1000",
                                                        "--burst", "1000"))
    server.start()
    key = kit.make_key(db, "endpoint-eval", ("chat",))[1]
    yield server, db, key
    server.stop()


def _count(db: str) -> int:
    from tunewise.monitor import open_store

    with open_store(db) as store:
        return store.count_requests()


def test_eval_metrics_usage_and_cache_against_tunewise_serve(cli, smollm2, rt100: Path, tmp_path: Path) -> None:
    from tunewise.monitor import open_store

    server, db, key = smollm2
    out, cache = tmp_path / "run", tmp_path / "responses.sqlite"
    args = ("eval", rt100, "--base-url", server.url + "/v1", "--model", "smollm2", "--api-key-env", "TW_SERVE_KEY",
            "--out", out, "--cache", cache, "--free", "--limit", "6", "--shots", "2", "--max-tokens", "6")
    env = {"TW_SERVE_KEY": key}
    before = _count(db)
    r = cli(*args, env=env)
    assert r.code == 0, r.output
    rec, rows = read_record(out), read_rows(out)
    assert rec["status"] == "ok" and rec["n_test"] == len(rows) == 6 and _count(db) == before + 6
    # metrics = scikit-learn on the written predictions
    gold = [x["gold"] for x in rows]
    pred = [x["prediction"] if x["prediction"] is not None else "<unparseable>" for x in rows]
    lab = dict(labels=rec["labels"], zero_division=0)
    m = rec["metrics"]
    assert m["accuracy"]["value"] == pytest.approx(skm.accuracy_score(gold, pred), abs=1e-6)
    assert m["macro_f1"]["value"] == pytest.approx(skm.f1_score(gold, pred, average="macro", **lab), abs=1e-6)
    assert m["macro_recall"]["value"] == pytest.approx(skm.recall_score(gold, pred, average="macro", **lab), abs=1e-6)
    assert m["mcc"]["value"] == pytest.approx(skm.matthews_corrcoef(gold, pred), abs=1e-6)
    assert rec["unparseable"]["count"] == pred.count("<unparseable>") < 6
    # usage tokens = what the server stored for each request (matched by the response id)
    with open_store(db) as store:
        for x in rows:
            stored = store.get_request(x["response_id"].removeprefix("chatcmpl-"))
            assert (stored["tokens_in"], stored["tokens_out"]) == (x["usage"]["prompt_tokens"],
                                                                   x["usage"]["completion_tokens"])
            assert stored["key_id"] == key.split("_")[1]
    assert rec["usage"]["prompt_tokens"] == sum(x["usage"]["prompt_tokens"] for x in rows)
    assert rec["latency_ms"]["p50"] > 0 and rec["throughput"]["endpoint"]["examples_per_s"] > 0
    assert key.encode() not in cache.read_bytes() and key not in (out / "pilot.json").read_text()
    # a second run sends zero requests: the server's store does not grow
    r = cli(*args, env=env)
    assert r.code == 0, r.output
    assert _count(db) == before + 6 and read_record(out)["requests"]["sent"] == 0
    assert read_record(out)["metrics"] == m


def test_max_usd_stops_a_chatty_model(cli, smollm2, rt100: Path, tmp_path: Path) -> None:
    server, db, key = smollm2
    out = tmp_path / "run"
    before = _count(db)
    # a prompt that makes the model talk: it bills ~12 output tokens ($0.12 at $10,000 per 1M) where the
    # estimate expects a label's 2-3 ($0.03): 4 requests are estimated below the cap, which stops the run early
    r = cli("eval", rt100, "--base-url", server.url + "/v1", "--model", "smollm2", "--api-key-env", "TW_SERVE_KEY",
            "--out", out, "--cache", tmp_path / "c.sqlite", "--concurrency", "1", "--max-tokens", "12", "--limit", "4",
            "--prompt", "Write a long, detailed paragraph about the text you are given. Never answer in one word.",
            "--price-per-1m-input", "0.01", "--price-per-1m-output", "10000", "--max-usd", "0.2",
            env={"TW_SERVE_KEY": key})
    assert r.code == 2 and "spending cap" in r.stderr and "Traceback" not in r.output, r.output
    rec = read_record(out)
    sent = _count(db) - before
    assert rec["status"] == "partial" and rec["stopped"]["reason"] == "budget"
    assert 1 <= sent < 4 and rec["n_evaluated"] == sent
    assert float(rec["cost"]["spent_this_run_usd"]) <= 0.2
