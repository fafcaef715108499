"""Lifecycle in estimates: retired offers refused (exit 2, naming date and replacement), history still
priced with --as-of, the end of new jobs stated and retrains after it not priced, restrictions warned."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D

import pytest

from tunewise.catalog import load_catalog
from tunewise.catalog.lifecycle import OfferUnavailable
from tunewise.estimate import Horizon, Traffic, Workload, estimate

W = Workload(examples=1000, tokens_total=300_000, max_tokens=900)
T = Traffic(requests_per_month=D(100_000), input_tokens=D(250), output_tokens=D(50))
NANO = "api-finetune:openai/gpt-4.1-nano-2025-04-14"
BASE = ["estimate", "--examples", "1000", "--training-tokens", "100000", "--requests-per-month", "1000",
        "--input-tokens", "100", "--output-tokens", "10"]


def test_retired_fine_tune_exits_2_naming_the_date_and_the_replacement(cli):
    r = cli(*BASE, "-c", NANO, "--as-of", "2026-12-02")
    assert r.code == 2 and "Traceback" not in r.output
    assert "2026-10-23" in r.stderr and "gpt-5.4-nano" in r.stderr and "not available on 2026-12-02" in r.stderr
    assert "prompting:openai/gpt-5.4-nano" in r.stderr  # the replacement is not fine-tunable: say how to compare
    ok = cli(*BASE, "-c", NANO, "--as-of", "2026-06-01", "--json", "-")
    assert ok.code == 0, ok.output
    e = json.loads(ok.stdout)["estimates"][0]
    # 100,000 x 3 epochs x $1.50/M = $0.45, the price in force before the shutdown
    assert e["status"] == "ok" and e["train_usd"]["expected"] == "0.4500"
    assert any(f["kind"] == "shuts-down" and f["severity"] == "warning" for f in e["lifecycle"])


def test_retired_prompting_baseline_is_refused_too(catalog_dec2026):
    with pytest.raises(OfferUnavailable, match="2026-10-23"):
        estimate(["prompting:openai/gpt-4.1-nano"], W, T, catalog=catalog_dec2026)
    ok, = estimate(["prompting:openai/gpt-5.4-nano"], W, T, catalog=catalog_dec2026)
    assert ok.status == "ok" and ok.lifecycle == []


def test_recorded_instead_of_raised_for_a_run(catalog_dec2026):
    gone, live = estimate([NANO, "api-finetune:openai/gpt-4o-mini"], W, T, catalog=catalog_dec2026,
                          unavailable="record")
    assert gone.status == "unavailable" and gone.tco_usd is None and gone.rank is None
    assert "2026-10-23" in gone.reason and gone.lifecycle[0].severity == "refused"
    assert gone.lifecycle[0].replacement.startswith("openai/gpt-5.4-nano")
    assert live.status == "ok" and live.rank == 1


def test_openai_fine_tune_states_the_end_of_new_jobs_and_does_not_price_later_retrains(catalog_dec2026):
    # 2 retrains a year over 12 months from 2026-12-02: months 6 and (12 excluded) -> month 6 = 2027-06-02,
    # after OpenAI's last day for new jobs (no new jobs from 2027-01-06): not priced.
    e, = estimate(["api-finetune:openai/gpt-4o-mini"], W, T, Horizon(months=12, retrains_per_year=2),
                  catalog=catalog_dec2026)
    assert e.status == "ok" and e.new_jobs_until == date(2027, 1, 6)
    assert e.retrains_not_priced == [6]
    assert [p.name for p in e.parts][0] == "initial training"
    assert not any("retraining" in p.name for p in e.parts)
    assert any("RETRAINS IMPOSSIBLE" in a and "2027-01-06" in a for a in e.assumptions)
    kinds = {f.kind: f for f in e.lifecycle}
    assert kinds["new-jobs-end"].severity == "warning" and kinds["new-jobs-end"].date == date(2027, 1, 6)
    assert kinds["restricted"].date in (date(2026, 5, 7), date(2026, 7, 2))
    # the same plan priced in mid-2025 pays the retrain: the difference is exactly one training run
    then, = estimate(["api-finetune:openai/gpt-4o-mini"], W, T, Horizon(months=12, retrains_per_year=2),
                     catalog=load_catalog(as_of=date(2025, 7, 1)))
    assert then.retrains_not_priced == [] and then.new_jobs_until == date(2027, 1, 6)
    assert then.parts[1].name == "retraining x1 (months 6)" and then.parts[1].usd == then.train_usd


def test_retrains_before_the_end_are_still_priced(catalog_dec2026):
    # 12 retrains a year: month 1 (2027-01-02) is before 2027-01-06, months 2..11 are not
    e, = estimate(["api-finetune:openai/gpt-4o-mini"], W, T, Horizon(months=12, retrains_per_year=12),
                  catalog=catalog_dec2026)
    assert e.parts[1].name == "retraining x1 (months 1)"
    assert e.retrains_not_priced == list(range(2, 12))
    assert e.tco_usd.expected == sum((p.usd.expected for p in e.parts), D(0))


def test_gemini_2_5_tuning_is_refused_after_its_retirement_and_3_5_is_priced(catalog_dec2026):
    with pytest.raises(OfferUnavailable, match="2026-10-16") as exc:
        estimate(["api-finetune:google-vertex/gemini-2.5-flash"], W, T, catalog=catalog_dec2026)
    assert "gemini-3.1-flash-lite" in exc.value.render()
    e, = estimate(["api-finetune:google-vertex/gemini-3.5-flash"], W, T, catalog=catalog_dec2026)
    # training: 300,000 x 3 epochs x $10/M = $9.00; serving at 1.5x base: 100,000 x (250 x $2.25 + 50 x $13.50)/M
    assert e.train_usd.expected == D("9.00")
    assert e.monthly_usd.expected == D("123.75")
    # one day before new tuning was blocked, 2.5 Flash is still priced (with the warning)
    early, = estimate(["api-finetune:google-vertex/gemini-2.5-flash"], W, T,
                      catalog=load_catalog(as_of=date(2026, 9, 15)))
    assert early.status == "ok" and any(f.kind == "new-jobs-end" for f in early.lifecycle)


def test_cli_prints_lifecycle_warnings(cli):
    r = cli(*BASE, "-c", "api-finetune:openai/gpt-4o-mini", "--retrains-per-year", "4", "--as-of", "2026-12-02")
    assert r.code == 0, r.output
    assert "2027-01-06" in r.stdout and "are impossible" in r.stdout and "not priced" in r.stdout
    assert "since 2026-07-02" in r.stdout
