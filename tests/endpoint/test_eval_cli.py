"""`tunewise eval` as a user runs it, against a small real OpenAI-style HTTP server (stdlib, in the
test): the pilot's split and record, metrics equal to scikit-learn, the response cache, prices, the
spending cap, retries (429 with Retry-After, then 500, then 200), bad input, Ctrl-C and resume, and
`tunewise compare` between an endpoint run and a local pilot."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sklearn import metrics as skm

from fakeserver import read_record, read_rows

KEY = "sk-test-0123456789abcdef"


def _answer(text: str) -> str:
    """A deterministic 'model': fresh / rotten / an answer that is not a label."""
    return ["I cannot tell", "fresh", "Rotten."][len(text) % 3]


def _eval(cli, data: Path, url: str, out: Path, tmp_path: Path, *extra: str, env: dict | None = None):
    return cli("eval", data, "--base-url", url, "--model", "fake-model", "--out", out,
               "--cache", tmp_path / "responses.sqlite", "--quiet", *extra, env=env)


def test_record_metrics_usage_key_and_cache(cli, fake, rt100: Path, tmp_path: Path) -> None:
    from tunewise.pilot import splits

    server = fake(key=KEY, answer=_answer)
    out = tmp_path / "run"
    r = _eval(cli, rt100, server.url, out, tmp_path, "--api-key-env", "TW_TEST_KEY", "--free", "--concurrency", "3",
              env={"TW_TEST_KEY": KEY})
    assert r.code == 0, r.output
    rec, rows = read_record(out), read_rows(out)
    # the same split as a local pilot on the same file and seed: the same test ids, in the same order
    test = splits.prepare(rt100, seed=0).test
    assert [x["id"] for x in rows] == [e.id for e in test] and rec["n_test"] == len(test) == 20
    assert (out / "COMPLETE").is_file() and rec["status"] == "ok" and rec["kind"] == "endpoint"
    # metrics = scikit-learn on the written predictions (an unparseable answer is its own, wrong, class)
    gold = [x["gold"] for x in rows]
    pred = [x["prediction"] if x["prediction"] is not None else "<unparseable>" for x in rows]
    n_unp = sum(1 for x in rows if x.get("unparseable"))
    assert 0 < n_unp < 20 and rec["unparseable"]["count"] == n_unp
    assert all(x["prediction"] is None for x in rows if x.get("unparseable"))
    m = rec["metrics"]
    lab = dict(labels=rec["labels"], zero_division=0)
    assert m["accuracy"]["value"] == pytest.approx(skm.accuracy_score(gold, pred), abs=1e-6)
    assert m["macro_f1"]["value"] == pytest.approx(skm.f1_score(gold, pred, average="macro", **lab), abs=1e-6)
    assert m["mcc"]["value"] == pytest.approx(skm.matthews_corrcoef(gold, pred), abs=1e-6)
    assert rec["confusion_matrix"]["rows_gold_cols_pred"] == skm.confusion_matrix(
        gold, pred, labels=rec["labels"] + ["<unparseable>"]).tolist()
    assert m["macro_f1"]["ci_low"] <= m["macro_f1"]["value"] <= m["macro_f1"]["ci_high"]
    # usage comes from the responses: the server's own counts, summed
    sent = server.chat_requests
    assert len(sent) == 20
    want_in = sum(sum(len(msg["content"].split()) + 4 for msg in q.body["messages"]) for q in sent)
    assert rec["usage"]["prompt_tokens"] == want_in == sum(x["usage"]["prompt_tokens"] for x in rows)
    lat = rec["latency_ms"]
    assert lat["p50"] <= lat["p90"] <= lat["p95"] <= lat["p99"] and lat["n"] >= 15
    assert rec["eval_cost_usd"] == "0.000000" and rec["cost"]["pricing"]["status"] == "free"
    assert rec["endpoint"] == {"base_url": server.url, "model": "fake-model", "api_key_env": "TW_TEST_KEY",
                               "served_model": ["fake-model"]}
    # the key went to the server, and nowhere else
    assert all(q.headers.get("authorization") == f"Bearer {KEY}" for q in sent)
    for f in [*out.iterdir(), tmp_path / "responses.sqlite"]:
        assert KEY.encode() not in f.read_bytes(), f
    # a second run sends nothing: every answer comes from the cache, the record is the same measurement
    r2 = _eval(cli, rt100, server.url, out, tmp_path, "--api-key-env", "TW_TEST_KEY", "--free",
               env={"TW_TEST_KEY": KEY})
    assert r2.code == 0, r2.output
    rec2 = read_record(out)
    assert len(server.chat_requests) == 20
    assert rec2["requests"]["sent"] == 0 and rec2["requests"]["from_cache"] == 20
    assert rec2["metrics"] == rec["metrics"] and rec2["usage"] == rec["usage"]


def test_prices_catalog_explicit_and_unknown(cli, fake, rt100: Path, tmp_path: Path) -> None:
    server = fake(answer=_answer)
    out = tmp_path / "run"
    r = _eval(cli, rt100, server.url, out, tmp_path, "--limit", "6")
    assert r.code == 0, r.output
    rec = read_record(out)
    assert rec["n_test"] == 6 and sorted(x["gold"] for x in read_rows(out)).count("fresh") in (3, 4)  # stratified
    assert rec["eval_cost_usd"] is None and rec["cost"]["pricing"]["status"] == "unknown"
    assert "cost unknown" in r.stderr and "--free" in r.stderr
    cat = tmp_path / "acme.yaml"
    cat.write_text("""type: provider
schema_version: 1
provider: acme
name: Acme inference
url: https://example.com/acme
models:
  - {id: fake-model, tokenizer: o200k_base}
prices:
  - {model: fake-model, kind: base-input, usd: 2.50, unit: 1M tokens, effective_from: 2026-01-01,
     source_url: "https://example.com/acme/prices", checked_on: 2026-11-30, confidence: user}
  - {model: fake-model, kind: base-output, usd: 10.00, unit: 1M tokens, effective_from: 2026-01-01,
     source_url: "https://example.com/acme/prices", checked_on: 2026-11-30, confidence: user}
""", encoding="utf-8")
    r = _eval(cli, rt100, server.url, out, tmp_path, "--limit", "6", "--price", "acme/fake-model",
              "--catalog-file", cat)
    assert r.code == 0, r.output
    rec = read_record(out)
    assert len(server.chat_requests) == 6  # the price changes nothing that is sent
    u = rec["usage"]
    from decimal import Decimal

    want = (Decimal(u["prompt_tokens"]) * Decimal("2.50") + Decimal(u["completion_tokens"]) * Decimal("10")) / 10**6
    assert Decimal(rec["eval_cost_usd"]) == want.quantize(Decimal("0.000001"))
    ids = [p["id"] for p in rec["cost"]["pricing"]["prices"]]
    assert ids == ["acme/fake-model/base-input@2026-01-01", "acme/fake-model/base-output@2026-01-01"]
    assert rec["cost"]["pricing"]["prices"][0]["checked_on"] == "2026-11-30"
    r = _eval(cli, rt100, server.url, out, tmp_path, "--price", "acme/nope", "--catalog-file", cat)
    assert r.code == 2 and "Traceback" not in r.output and "fake-model" in r.stderr  # did-you-mean


def test_max_usd_refuses_then_stops_then_resumes(cli, fake, rt100: Path, tmp_path: Path) -> None:
    # a model that bills far more output than it shows (hidden reasoning tokens): the estimate is low
    server = fake(answer=_answer, completion_tokens=lambda t: 300)
    out = tmp_path / "run"
    price = ("--price-per-1m-input", "1", "--price-per-1m-output", "1000", "--concurrency", "1")
    r = _eval(cli, rt100, server.url, out, tmp_path, "--max-usd", "0.0001", *price)
    assert r.code == 2 and "above --max-usd" in r.stderr and "--limit" in r.stderr
    assert server.chat_requests == [] and not out.exists()
    r = _eval(cli, rt100, server.url, out, tmp_path, "--max-usd", "1", *price)  # ~$0.30 a request, billed
    assert r.code == 2 and "spending cap" in r.stderr and "Traceback" not in r.output
    rec = read_record(out)
    n = len(server.chat_requests)
    assert rec["status"] == "partial" and rec["stopped"]["reason"] == "budget" and not (out / "COMPLETE").exists()
    assert 1 <= n < 20 and rec["n_evaluated"] == n == len(read_rows(out))
    assert 0.6 < float(rec["cost"]["spent_this_run_usd"]) <= 1.0 and "--max-usd" in r.stderr
    r = _eval(cli, rt100, server.url, out, tmp_path, "--max-usd", "10", *price)
    assert r.code == 0, r.output
    assert len(server.chat_requests) == 20 and read_record(out)["requests"]["from_cache"] == n


def test_retries_honour_retry_after_then_back_off(cli, fake, rt100: Path, tmp_path: Path) -> None:
    server = fake(answer=_answer, script=[
        (429, {"Retry-After": "1"}, {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}),
        (500, {}, {"error": {"message": "The server had an error", "type": "server_error"}}),
        (200, {}, None)])
    out = tmp_path / "run"
    r = _eval(cli, rt100, server.url, out, tmp_path, "--limit", "2", "--concurrency", "1", "--free")
    assert r.code == 0, r.output
    t = [q.t for q in server.chat_requests]
    assert len(t) == 4  # 3 attempts for the first example, 1 for the second
    assert server.chat_requests[0].body == server.chat_requests[1].body == server.chat_requests[2].body
    assert t[1] - t[0] >= 0.95  # Retry-After: 1 honoured
    assert 0.45 <= t[2] - t[1] <= 1.6  # second attempt's backoff: base 0.5 s x 2, equal jitter -> 0.5..1.0 s
    rec = read_record(out)
    assert rec["requests"]["retries"] == 2 and sorted(x["attempts"] for x in read_rows(out)) == [1, 3]


def test_failed_request_is_recorded_and_retried_on_rerun(cli, fake, rt100: Path, tmp_path: Path) -> None:
    err = (503, {"Retry-After": "0"}, {"error": {"message": "overloaded"}})
    server = fake(answer=_answer, script=[err, err])
    out = tmp_path / "run"
    r = _eval(cli, rt100, server.url, out, tmp_path, "--limit", "4", "--concurrency", "1", "--max-retries", "1",
              "--free")
    assert r.code == 2 and "incomplete" in r.stderr and "run the same command again" in r.stderr
    rows = read_rows(out)
    failed = [x for x in rows if x.get("error")]
    assert len(rows) == 4 and len(failed) == 1 and failed[0]["prediction"] is None
    assert "503" in failed[0]["error"] and failed[0]["attempts"] == 2
    assert read_record(out)["failed"]["count"] == 1
    r = _eval(cli, rt100, server.url, out, tmp_path, "--limit", "4", "--free")
    assert r.code == 0, r.output
    assert len(server.chat_requests) == 6  # 2 failed attempts + 3 answers, then only the failed example again


@pytest.mark.parametrize("case", ["unreachable", "bad-key", "unknown-model", "never-parses", "missing-key-var"])
def test_bad_input_is_clear_exit_2_and_keeps_partial_results(case: str, cli, fake, rt100: Path,
                                                             tmp_path: Path) -> None:
    from tunewise_serve_testkit import free_port

    out = tmp_path / "run"
    env = {"TW_TEST_KEY": KEY}
    server = fake(key=KEY, answer=(lambda t: "Well, it depends on the viewer.") if case == "never-parses" else _answer)
    url, model, key_var = server.url, "fake-model", "TW_TEST_KEY"
    if case == "unreachable":
        url = f"http://127.0.0.1:{free_port()}/v1"
    elif case == "bad-key":
        env = {"TW_TEST_KEY": "sk-wrong"}
    elif case == "unknown-model":
        model = "fake-modle"
    elif case == "missing-key-var":
        key_var = "TW_UNSET_KEY_VAR"
    r = cli("eval", rt100, "--base-url", url, "--model", model, "--api-key-env", key_var, "--out", out,
            "--cache", tmp_path / "c.sqlite", "--free", "--limit", "6", env=env)
    assert r.code == 2, r.output
    assert "Traceback" not in r.output and "error:" in r.stderr
    expect = {"unreachable": ["cannot reach the endpoint", "--base-url"],
              "bad-key": ["refused the API key", "401", "--api-key-env"],
              "unknown-model": ["404", "fake-modle", "Did you mean 'fake-model'"],
              "never-parses": ["no answer could be parsed", "Well, it depends", "--prompt"],
              "missing-key-var": ["TW_UNSET_KEY_VAR is not set", "export TW_UNSET_KEY_VAR"]}[case]
    for text in expect:
        assert text in r.stderr, (text, r.stderr)
    assert KEY not in r.output
    if case == "missing-key-var":
        assert server.log == [] and not out.exists()  # nothing sent, nothing written
        return
    rec = read_record(out)  # partial results kept, never marked complete
    assert not (out / "COMPLETE").exists()
    assert rec["status"] == ("unparseable" if case == "never-parses" else "partial")
    if case == "never-parses":
        assert len(read_rows(out)) == 6 and all(x.get("unparseable") for x in read_rows(out))


def test_ctrl_c_leaves_a_resumable_run(fake, rt100: Path, tmp_path: Path) -> None:
    from tunewise.endpoint.cache import ResponseCache

    # 1 s an answer: the 14 answers still to come after the 6th request arrives take ~7 s, so the Ctrl-C
    # always lands mid-run (at 0.25 s a loaded machine could finish first and exit 0)
    server = fake(answer=_answer, delay_s=1.0)
    out, cache = tmp_path / "run", tmp_path / "responses.sqlite"
    bin_ = Path(sys.executable).parent / "tunewise"
    cmd = [str(bin_), "eval", str(rt100), "--base-url", server.url, "--model", "fake-model", "--out", str(out),
           "--cache", str(cache), "--free", "--concurrency", "2", "--quiet"]
    # A shell's background job (`make test &`) starts with SIGINT ignored, and Python then installs no
    # KeyboardInterrupt handler: give the child the terminal's default, as a user's Ctrl-C meets it.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while len(server.chat_requests) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "resume" in err
    rec = read_record(out)
    assert rec["status"] == "interrupted" and not (out / "COMPLETE").exists()
    done = len(read_rows(out))
    assert 4 <= done < 20
    sent_before = len(server.chat_requests)
    assert ResponseCache(cache).count() == sent_before  # answers still in flight at Ctrl-C were kept too
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert len(server.chat_requests) == 20  # nothing sent twice
    assert read_record(out)["status"] == "ok" and len(read_rows(out)) == 20


def test_generation_task_uses_the_pilot_generation_metrics(cli, fake, qa_data: Path, tmp_path: Path) -> None:
    server = fake(answer=lambda t: "sport" if "match" in t.lower() else "business news")
    out = tmp_path / "run"
    r = _eval(cli, qa_data, server.url, out, tmp_path, "--free", "--shots", "2")
    assert r.code == 0, r.output
    rec, rows = read_record(out), read_rows(out)
    assert rec["task"] == "generation" and rec["headline_metric"] == "token_f1"
    from tunewise.pilot import metrics as M

    em = [M.exact_match(x["prediction"], x["gold"]) for x in rows]
    assert rec["metrics"]["exact_match"]["value"] == pytest.approx(sum(em) / len(em), abs=1e-6)
    assert all(set(x["scores"]) == {"exact_match", "token_f1"} for x in rows)
    # two shots: the same few-shot turns in every request, before the example
    msgs = server.chat_requests[0].body["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant", "user"]
    assert rec["shots"] == 2 and len(rec["prompt"]["shots"]) == 2


def test_compare_pairs_an_endpoint_run_with_a_local_pilot(cli, fake, rt100: Path, tmp_path: Path) -> None:
    server = fake(answer=_answer)
    ep = tmp_path / "endpoint"
    assert _eval(cli, rt100, server.url, ep, tmp_path, "--free").code == 0
    local = tmp_path / "tfidf"
    r = cli("pilot", rt100, "--model", "tfidf-logreg", "--method", "baseline", "--out", local, "--quiet",
            "--no-baseline", "--batch-sizes", "1")
    assert r.code == 0, r.output
    r = cli("compare", local, ep, "--json", tmp_path / "cmp.json", "--resamples", "1000")
    assert r.code == 0, r.output
    import json

    cmp = json.loads((tmp_path / "cmp.json").read_text())
    assert cmp["n"] == 20 and cmp["b"]["model"] == "fake-model"
    rows = read_rows(ep)
    acc = sum(x["prediction"] == x["gold"] for x in rows) / 20
    assert cmp["accuracy_b"] == pytest.approx(acc)
