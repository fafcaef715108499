"""A plan candidate with `endpoint:` is measured by `tunewise run` like a local pilot: a cached step,
its record in the same `pilots` dict, its quality `measured` in the decision (the stdlib OpenAI-style
test server stands in for the provider, over real HTTP through the openai SDK)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakeserver import read_rows

PLAN = """\
version: 1
name: endpoint plan
data:
  train: train.jsonl
  test: test.jsonl
task:
  metric: macro_f1
  target: 0.6
traffic:
  requests_per_month: 10000
horizon_months: 3
candidates:
  - id: tfidf
    kind: local
    model: tfidf-logreg
    method: baseline
  - id: mini-prompt
    kind: prompting
    provider: openai
    model: gpt-4o-mini
    shots: 2
    endpoint:
      base_url: {url}
      model: fake-model
      api_key_env: TW_PLAN_KEY
  - id: nano-prompt
    kind: prompting
    provider: openai
    model: gpt-4.1-nano
    expected_score: {{value: 0.7, source: "a figure the plan's author brings"}}
"""
KEY = "sk-plan-key-42"


@pytest.fixture
def plan_dir(tmp_path: Path) -> Path:
    from tunewise.data.bundled import sample_rows

    rows = sample_rows("rotten-tomatoes", limit=90, seed=2)
    for name, part in (("train.jsonl", rows[:60]), ("test.jsonl", rows[60:])):
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in part), encoding="utf-8")
    return tmp_path


def test_run_measures_the_endpoint_candidate(cli, fake, plan_dir: Path) -> None:
    server = fake(key=KEY, answer=lambda t: "fresh" if "good" in t or len(t) % 2 else "rotten")
    plan = plan_dir / "plan.yaml"
    plan.write_text(PLAN.format(url=server.url), encoding="utf-8")
    out = plan_dir / "out"
    env = {"TW_PLAN_KEY": KEY}
    r = cli("run", plan, "--out", out, "--executor", "inline", env=env)
    assert r.code == 0, r.output
    assert "endpoint:mini-prompt" in r.output
    rep = json.loads((out / "report.json").read_text())
    p = rep["pilots"]["mini-prompt"]
    assert p["status"] == "ok" and p["kind"] == "endpoint" and p["n_test"] == 30
    assert p["endpoint"]["model"] == "fake-model" and p["shots"] == 2
    # the same split as the local pilot: the same 30 test ids
    ids = [x["id"] for x in read_rows(out / "pilots" / "mini-prompt")]
    assert ids == [x["id"] for x in read_rows(out / "pilots" / "tfidf")]
    # catalog prices of the candidate (gpt-4o-mini base input/output) applied to the usage the endpoint reported
    assert [x["id"].split("@")[0] for x in p["cost"]["pricing"]["prices"]] == [
        "openai/gpt-4o-mini-2024-07-18/base-input", "openai/gpt-4o-mini-2024-07-18/base-output"]
    assert float(p["eval_cost_usd"]) > 0 and p["usage"]["prompt_tokens"] > 0
    rows = {c["id"]: c for c in rep["decision"]["candidates"]}
    q = rows["mini-prompt"]["quality"]
    assert q["provenance"] == "measured" and q["value"] == p["metrics"]["macro_f1"]["value"]
    assert q["ci_low"] <= q["value"] <= q["ci_high"] and "endpoint fake-model" in q["source"]
    assert rows["nano-prompt"]["quality"]["provenance"] == "user-given"  # no endpoint: unchanged behaviour
    html = (out / "report.html").read_text()
    assert "Endpoint evaluation of <code>fake-model</code>" in html
    assert KEY not in (out / "report.json").read_text() and KEY not in html
    sent = len(server.chat_requests)
    assert sent == 30
    # rerun: the step is reused from the cache, nothing is sent
    r = cli("run", plan, "--out", out, "--executor", "inline", env=env)
    assert r.code == 0, r.output
    assert "endpoint:mini-prompt: reused from cache" in r.output and len(server.chat_requests) == sent


def test_missing_key_and_key_in_the_plan_are_plan_errors(cli, fake, plan_dir: Path) -> None:
    server = fake(key=KEY)
    plan = plan_dir / "plan.yaml"
    plan.write_text(PLAN.format(url=server.url), encoding="utf-8")
    r = cli("run", plan, "--out", plan_dir / "out", env={"TW_PLAN_KEY": ""})
    assert r.code == 2 and "TW_PLAN_KEY is not set" in r.stderr and "plan.yaml:" in r.stderr
    assert "Traceback" not in r.output and server.log == [] and not (plan_dir / "out" / "pilots").exists()
    plan.write_text(PLAN.format(url=server.url).replace("api_key_env: TW_PLAN_KEY", "api_key_env: sk-live-123"),
                    encoding="utf-8")
    r = cli("plan", "validate", plan)
    assert r.code == 2 and "must name an environment variable" in r.stderr and "plan.yaml:" in r.stderr
