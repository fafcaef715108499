"""`tunewise run`: a real tiny run, the step cache, traffic-only changes, budget findings, the demo data."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the shared tiny run fine-tunes MiniLM for real


def _steps(output: str) -> dict[str, str]:
    """step name -> 'reused' | 'computed', from the terminal lines '[i/n] NAME: ...'."""
    out = {}
    for line in output.splitlines():
        if line.startswith("[") and "] " in line and ": " in line:
            name, rest = line.split("] ", 1)[1].split(": ", 1)
            if rest.startswith("reused from cache"):
                out[name] = "reused"
            elif rest.startswith("done") or rest.startswith("skipped") or rest.startswith("failed"):
                out[name] = "computed"
    return out


def _copy_out(tiny_run, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(tiny_run.out, out)
    return out


def test_tiny_run_produces_the_three_outputs(tiny_run) -> None:
    out = tiny_run.out
    for name in ("report.html", "report.json", "summary.md"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0
    assert f"report: {(out / 'report.html').resolve()}" in tiny_run.result.stdout
    steps = _steps(tiny_run.result.stderr)
    assert steps == {"audit": "computed", "pilot:tfidf": "computed", "pilot:minilm": "computed",
                     "estimates": "computed"}, tiny_run.result.stderr
    for pid in ("tfidf", "minilm"):
        assert (out / "pilots" / pid / "COMPLETE").is_file()


def test_report_json_quality_is_measured_or_user_given_never_invented(tiny_run) -> None:
    rows = {c["id"]: c for c in tiny_run.report["decision"]["candidates"]}
    assert set(rows) == {"tfidf", "minilm", "mini-ft", "mini41-ft", "llama-lora", "gpt4o-prompt"}
    for cid in ("tfidf", "minilm"):
        q = rows[cid]["quality"]
        pilot = tiny_run.report["pilots"][cid]
        assert q["provenance"] == "measured"
        assert q["value"] == pytest.approx(pilot["metrics"]["macro_f1"]["value"])
        assert q["ci_low"] <= q["value"] <= q["ci_high"]
    assert rows["mini41-ft"]["quality"]["provenance"] == "user-given"
    assert rows["mini41-ft"]["quality"]["value"] == pytest.approx(0.85)
    assert "hypothetical" in rows["mini41-ft"]["quality"]["source"]
    for cid in ("mini-ft", "llama-lora", "gpt4o-prompt"):
        assert rows[cid]["quality"]["value"] is None and rows[cid]["quality"]["provenance"] is None


def test_report_json_costs_are_decimal_ranges_with_dated_sourced_prices(tiny_run) -> None:
    rep = tiny_run.report
    rows = {c["id"]: c for c in rep["decision"]["candidates"]}
    for cid in ("tfidf", "minilm", "mini-ft", "mini41-ft", "llama-lora", "gpt4o-prompt"):
        cost = rows[cid]["cost"]
        assert cost["status"] == "ok" and cost["provenance"] == "estimated", (cid, cost)
        for key in ("training_usd", "monthly_usd", "tco_usd"):
            low, exp, high = (Decimal(cost[key][k]) for k in ("low", "expected", "high"))
            assert low <= exp <= high
        series = rep["estimates"]["candidates"][cid]["series"]
        assert [p["month"] for p in series] == list(range(0, 7))
        assert Decimal(series[-1]["expected"]) == Decimal(cost["tco_usd"]["expected"])
        assert all(Decimal(a[k]) <= Decimal(b[k]) for a, b in zip(series, series[1:]) for k in ("low", "expected", "high"))
    prices = rep["estimates"]["prices"]
    assert prices
    for p in prices.values():
        assert p["source_url"].startswith("http") and p["checked_on"] and p["effective_from"]
        assert Decimal(p["usd"]) > 0
    # the sensitivity scenarios all exist and traffic x10 never makes an API candidate cheaper
    sens = {s["id"]: s for s in rep["sensitivity"]}
    assert set(sens) == {"traffic-x10", "traffic-div10", "prices-50", "mfu-low", "mfu-high"}
    assert Decimal(sens["traffic-x10"]["tco_usd"]["mini-ft"]) > Decimal(rows["mini-ft"]["cost"]["tco_usd"]["expected"])
    assert Decimal(sens["traffic-div10"]["tco_usd"]["mini-ft"]) < Decimal(rows["mini-ft"]["cost"]["tco_usd"]["expected"])
    assert Decimal(sens["prices-50"]["tco_usd"]["mini-ft"]) < Decimal(rows["mini-ft"]["cost"]["tco_usd"]["expected"])


def test_local_pilots_are_priced_as_deployed_from_their_measurement(tiny_run) -> None:
    est = tiny_run.report["estimates"]["candidates"]
    pilots = tiny_run.report["pilots"]
    # the floor: no offer in the plan, so the cheapest CPU instance that meets the latency objective
    floor = est["tfidf"]["serving"]
    assert not floor["pinned"] and floor["chosen"]["kind"] == "cpu" and floor["chosen"]["feasible"]
    horizon = [Decimal(o["horizon_usd"]["expected"]) for o in floor["offers"]]
    assert horizon == sorted(horizon) and floor["offers"][0]["offer"] == floor["chosen"]["offer"]
    assert not any(o["kind"] == "gpu" for o in floor["offers"])  # a scikit-learn pipeline needs no GPU
    # the measurement it was sized from is the pilot's own
    m = floor["measurement"]
    assert Decimal(m["latency_p95_ms"]) == Decimal(str(pilots["tfidf"]["latency_ms"]["p95"]))
    assert m["threads"] == pilots["tfidf"]["hardware"]["threads"]
    # MiniLM pinned on a CPU instance by the plan: one c7i.large all month, tens of dollars, not hundreds
    mini = est["minilm"]["serving"]
    assert mini["pinned"] and mini["chosen"]["label"].startswith("aws/c7i.large")
    assert mini["chosen"]["instances"]["expected"] == "1"
    monthly = Decimal(est["minilm"]["monthly_usd"]["expected"])
    assert monthly == (Decimal("0.08925") * 730).quantize(Decimal("0.0001"))
    assert Decimal(mini["chosen"]["latency_p95_ms"]) <= 500
    assert any("training:" in a and "measured" in a for a in est["minilm"]["assumptions"])


def test_recommendation_follows_the_stated_rule(tiny_run) -> None:
    rep = tiny_run.report
    d = rep["decision"]
    v = d["verdict"]
    rows = {c["id"]: c for c in d["candidates"]}
    eligible = [cid for cid, c in rows.items() if c["quality"]["provenance"] == "measured"
                and c["cost"]["status"] == "ok" and c["budget"]["fits"] is not False]
    assert sorted(v["eligible"]) == sorted(eligible)
    best = max(eligible, key=lambda c: rows[c]["quality"]["value"])
    assert v["best"] == best
    target = float(rep["plan"]["task"]["target"])
    qset = {best} | {c for c, cmp in v["comparisons"].items()
                     if cmp["ci_high"] >= 0 or (cmp["ci_low"] >= -v["margin"] and cmp["ci_high"] <= v["margin"])} \
        | {c for c in eligible if rows[c]["quality"]["value"] >= target}
    assert set(v["quality_set"]) == qset
    rec = min(qset, key=lambda c: (Decimal(rows[c]["cost"]["tco_usd"]["expected"]), -rows[c]["quality"]["value"]))
    assert d["recommended"] == rec
    assert v["verdict"] == ("fine-tune" if rows[rec]["trains"] else "do-not-fine-tune")
    assert rows[rec]["label"] in rep["summary"]["recommendation"]
    assert rep["summary"]["recommendation"].startswith("Fine-tune" if rows[rec]["trains"] else "Do not fine-tune")
    # unknown-quality candidates are ranked on cost only, apart, never in the comparison
    unknown = {u["id"] for u in v["unknown_quality"]}
    assert unknown == {"mini-ft", "mini41-ft", "llama-lora", "gpt4o-prompt"}
    assert not unknown & set(v["comparisons"]) and not unknown & set(v["quality_set"])
    pareto = set(d["pareto"])
    known = [c for c in d["candidates"] if c["cost"]["status"] == "ok" and c["quality"]["value"] is not None]
    for c in known:  # a Pareto member is dominated by nobody
        dominated = any(Decimal(o["cost"]["tco_usd"]["expected"]) <= Decimal(c["cost"]["tco_usd"]["expected"])
                        and o["quality"]["value"] >= c["quality"]["value"] and o["id"] != c["id"]
                        and (Decimal(o["cost"]["tco_usd"]["expected"]) < Decimal(c["cost"]["tco_usd"]["expected"])
                             or o["quality"]["value"] > c["quality"]["value"]) for o in known)
        assert (c["id"] in pareto) == (not dominated)


def test_rerun_reuses_every_cached_step_and_says_so(cli, tiny_run, tmp_path: Path) -> None:
    out = _copy_out(tiny_run, tmp_path)
    complete = (tiny_run.out / "pilots" / "minilm" / "COMPLETE").stat().st_mtime_ns
    r = cli("run", tiny_run.plan, "--out", out)
    assert r.code == 0, r.output
    assert set(_steps(r.stderr).values()) == {"reused"}, r.stderr
    assert "every step was reused from the cache" in r.stderr
    assert (tiny_run.out / "pilots" / "minilm" / "COMPLETE").stat().st_mtime_ns == complete
    rep = json.loads((out / "report.json").read_text())
    assert all(s["cached"] for s in rep["steps"])
    assert rep["decision"] == tiny_run.report["decision"]


def test_changing_only_traffic_recomputes_only_estimates(cli, tiny_run, tmp_path: Path) -> None:
    out = _copy_out(tiny_run, tmp_path)
    plan = tiny_run.dir / "plan-traffic.yaml"
    plan.write_text(tiny_run.plan.read_text().replace("requests_per_month: 50000", "requests_per_month: 500000"))
    r = cli("run", plan, "--out", out)
    assert r.code == 0, r.output
    assert _steps(r.stderr) == {"audit": "reused", "pilot:tfidf": "reused", "pilot:minilm": "reused",
                                "estimates": "computed"}, r.stderr
    rep = json.loads((out / "report.json").read_text())
    old = {c["id"]: c for c in tiny_run.report["decision"]["candidates"]}
    new = {c["id"]: c for c in rep["decision"]["candidates"]}
    assert Decimal(new["gpt4o-prompt"]["cost"]["tco_usd"]["expected"]) > Decimal(old["gpt4o-prompt"]["cost"]["tco_usd"]["expected"])
    assert new["minilm"]["quality"] == old["minilm"]["quality"]  # measured quality untouched


def test_budget_no_candidate_fits_is_a_finding_not_a_crash(cli, tiny_run, tmp_path: Path) -> None:
    out = _copy_out(tiny_run, tmp_path)
    plan = tiny_run.dir / "plan-budget.yaml"
    plan.write_text(tiny_run.plan.read_text().replace("training_usd: 20", "training_usd: 0.001")
                    .replace("monthly_usd: 100", "monthly_usd: 0.01"))
    r = cli("run", plan, "--out", out)
    assert r.code == 0, r.output
    assert "Traceback" not in r.output
    assert set(_steps(r.stderr).values()) == {"reused"}  # the budget only changes the decision
    assert "No priced candidate fits the budget" in r.stderr
    rep = json.loads((out / "report.json").read_text())
    assert rep["decision"]["budget_finding"]
    assert rep["findings"][0]["title"] == "No candidate fits the budget"
    assert all(c["budget"]["fits"] is not True for c in rep["decision"]["candidates"])
    assert "No priced candidate fits the budget" in (out / "report.html").read_text()
    assert "No candidate fits the budget" in (out / "summary.md").read_text()


def test_demo_data_is_disjoint_and_plan_valid(tmp_path: Path) -> None:
    from tunewise.plan import load_plan
    from tunewise.runner.checks import catalog_problems
    from tunewise.runner.demo import prepare_demo

    plan = prepare_demo(tmp_path, train_examples=60, test_examples=40)
    train = [json.loads(x) for x in (tmp_path / "train.jsonl").read_text().splitlines()]
    test = [json.loads(x) for x in (tmp_path / "test.jsonl").read_text().splitlines()]
    assert len(train) == 60 and len(test) == 40
    assert not {r["id"] for r in train} & {r["id"] for r in test}
    assert {r["label"] for r in train} == {"fresh", "rotten"}
    lp = load_plan(plan, catalog_check=catalog_problems)
    assert lp.plan.baseline_id() == "gpt-5.4-mini-prompt"
    mtime = (tmp_path / "train.jsonl").stat().st_mtime_ns
    prepare_demo(tmp_path, train_examples=60, test_examples=40)  # unchanged data is not rewritten
    assert (tmp_path / "train.jsonl").stat().st_mtime_ns == mtime


def test_estimates_carry_offer_lifecycle_facts_and_findings(tiny_run) -> None:
    """The tiny plan is priced today: OpenAI's end of new fine-tuning jobs (2027-01-06) is stated on
    the fine-tune's record and in the estimates' findings (or, after that date, it is unavailable)."""
    from datetime import date

    est = tiny_run.report["estimates"]
    rec = est["candidates"]["mini-ft"]
    titles = [f["title"] for f in est["findings"]]
    if date.fromisoformat(est["as_of"]) < date(2027, 1, 6):
        assert rec["status"] == "ok" and rec["new_jobs_until"] == "2027-01-06"
        assert any(f["kind"] == "new-jobs-end" for f in rec["lifecycle"])
        assert "mini-ft: new fine-tuning jobs end inside the horizon" in titles
    else:
        assert rec["status"] == "unavailable" and "2027-01-06" in rec["reason"]
        assert "mini-ft: offer not available on the pricing date" in titles
