"""Offer lifecycle: date arithmetic, what is refused / warned on a pricing date, schema order rules,
replacements that must exist, staleness against lifecycle dates, and the bundled data's own facts."""

from __future__ import annotations

from datetime import date

import pytest

from tunewise.catalog import load_catalog
from tunewise.catalog.lifecycle import (
    INFO, REFUSED, WARNING, OfferUnavailable, add_months, assess, last_job_month, refuse_if_unavailable,
)
from tunewise.catalog.schema import Lifecycle
from tunewise.errors import BadInputError

SRC = {"source_url": "https://example.com/notice", "checked_on": date(2026, 12, 1), "confidence": "P"}


def lc(**kw) -> Lifecycle:
    data = {}
    for name in ("available_from", "new_jobs_until", "shutdown_on"):
        if name in kw:
            data[name] = {"date": kw.pop(name), **SRC}
    if "replacement" in kw:
        data["replacement"] = {"id": kw.pop("replacement"), **SRC}
    data["restrictions"] = [{"since": d, "who": who, **SRC, **extra} for d, who, extra in kw.pop("restrictions", [])]
    assert not kw
    return Lifecycle.model_validate(data)


def test_add_months_clamps_to_month_end():
    assert add_months(date(2026, 12, 2), 1) == date(2027, 1, 2)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2026, 11, 30), 14) == date(2028, 1, 30)


def test_end_dates_are_exclusive():
    life = lc(shutdown_on=date(2026, 10, 23), replacement="new-model")
    assert [f.severity for f in assess(life, "x", date(2026, 10, 22))] == [INFO]
    day_of = assess(life, "x", date(2026, 10, 23))
    assert day_of[0].severity == REFUSED and day_of[0].kind == "shut-down"
    assert "2026-10-23" in day_of[0].text and "new-model" in day_of[0].text


def test_shutdown_inside_the_horizon_is_a_warning_outside_is_info():
    life = lc(shutdown_on=date(2027, 3, 1))
    assert assess(life, "x", date(2026, 12, 2), horizon_months=12)[0].severity == WARNING
    assert assess(life, "x", date(2026, 12, 2), horizon_months=2)[0].severity == INFO


def test_new_jobs_matter_only_when_the_estimate_needs_a_job():
    life = lc(new_jobs_until=date(2027, 1, 6))
    assert assess(life, "x", date(2027, 2, 1), new_jobs=False) == []
    ended = assess(life, "x", date(2027, 2, 1), new_jobs=True)
    assert ended[0].severity == REFUSED and ended[0].kind == "new-jobs-ended"
    ahead = assess(life, "x", date(2026, 12, 2), horizon_months=12, new_jobs=True)
    assert ahead[0].severity == WARNING and "retrains on or after that date are impossible" in ahead[0].text


def test_restrictions_warn_with_their_date_and_scope():
    life = lc(restrictions=[(date(2026, 5, 7), "existing customers only", {}),
                            (date(2027, 3, 1), "nobody new", {"applies_to": "all"})])
    jobs = assess(life, "openai/m", date(2026, 12, 2), horizon_months=12, new_jobs=True)
    assert [(f.kind, f.date) for f in jobs] == [("restricted", date(2026, 5, 7)),
                                                ("restriction-ahead", date(2027, 3, 1))]
    assert "since 2026-05-07" in jobs[0].text and "existing customers only" in jobs[0].text
    # a job restriction does not concern prompting; an 'all' restriction does
    prompting = assess(life, "openai/m", date(2026, 12, 2), horizon_months=12)
    assert [f.kind for f in prompting] == ["restriction-ahead"]


def test_not_yet_available_is_refused_and_the_error_names_date_and_replacement():
    facts = assess(lc(available_from=date(2027, 1, 1)), "x", date(2026, 12, 2))
    with pytest.raises(OfferUnavailable) as exc:
        refuse_if_unavailable(facts, date(2026, 12, 2))
    assert "--as-of 2027-01-01 or later" in exc.value.render()
    gone = assess(lc(shutdown_on=date(2026, 10, 23), replacement="openai/gpt-5.4-nano"), "y", date(2026, 12, 2))
    with pytest.raises(BadInputError) as exc:  # an OfferUnavailable is bad input: exit 2
        refuse_if_unavailable(gone, date(2026, 12, 2), label="api-finetune y")
    text = exc.value.render()
    assert text.startswith("api-finetune y is not available on 2026-12-02")
    assert "2026-10-23" in text and "openai/gpt-5.4-nano" in text and "https://example.com/notice" in text


def test_last_job_month_counts_whole_months_before_the_end():
    life = lc(new_jobs_until=date(2027, 1, 6))
    assert last_job_month(life, date(2026, 12, 2), 12) == 1  # 2027-01-02 < 2027-01-06 <= 2027-02-02
    assert last_job_month(life, date(2026, 12, 10), 12) == 0
    assert last_job_month(life, date(2025, 1, 1), 12) is None  # the end is after the horizon
    assert last_job_month(None, date(2026, 12, 2), 12) is None


def test_lifecycle_dates_must_be_ordered():
    with pytest.raises(ValueError, match="must not be after shutdown_on"):
        lc(new_jobs_until=date(2027, 1, 1), shutdown_on=date(2026, 1, 1))
    with pytest.raises(ValueError, match="must be after available_from"):
        lc(available_from=date(2026, 1, 1), shutdown_on=date(2025, 1, 1))
    with pytest.raises(ValueError, match="not before shutdown_on"):
        lc(shutdown_on=date(2026, 1, 1), restrictions=[(date(2026, 2, 1), "existing users", {})])


def test_model_lifecycle_falls_back_to_the_provider_field_by_field():
    provider = lc(new_jobs_until=date(2027, 1, 6), restrictions=[(date(2026, 5, 7), "existing only", {})])
    merged = lc(replacement="m2").over(provider)
    assert merged.new_jobs_until.date == date(2027, 1, 6) and merged.restrictions[0].who == "existing only"
    # a provider-wide end of new jobs after the model's own shutdown does not apply to it
    early = lc(shutdown_on=date(2024, 1, 4)).over(provider)
    assert early.new_jobs_until is None and early.restrictions == []


VALIDATE = """\
type: provider
schema_version: 1
provider: acme
name: Acme
url: https://example.com/acme
models:
  - id: old-model
    fine_tunable: true
    tokenizer: o200k_base
    lifecycle:
      shutdown_on: {date: 2026-10-23, source_url: "https://example.com/n", checked_on: 2026-11-01, confidence: P}
      replacement: {id: REPLACEMENT, source_url: "https://example.com/n", checked_on: 2026-11-01, confidence: P}
  - id: new-model
    tokenizer: o200k_base
prices:
  - {model: old-model, kind: training, usd: 1.00, unit: 1M tokens, effective_from: 2025-01-01, source_url: "https://example.com/p", checked_on: 2026-10-01, confidence: user}
"""


def test_validate_checks_the_replacement_exists_and_dates_are_ordered(cli, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(VALIDATE.replace("REPLACEMENT", "new-model"))
    r = cli("catalog", "validate", good, "--as-of", "2026-12-02")
    assert r.code == 0, r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(VALIDATE.replace("REPLACEMENT", "new-modle"))
    r = cli("catalog", "validate", bad)
    assert r.code == 2 and "Traceback" not in r.output
    assert f"{bad}:7" in r.stderr and "replacement 'new-modle'" in r.stderr and "acme/new-model" in r.stderr
    other = tmp_path / "other.yaml"  # a replacement at another provider, here a bundled one
    other.write_text(VALIDATE.replace("REPLACEMENT", "openai/gpt-5.4-mini"))
    assert cli("catalog", "validate", other).code == 0
    order = tmp_path / "order.yaml"
    order.write_text(VALIDATE.replace("REPLACEMENT", "new-model").replace(
        "      shutdown_on:", "      new_jobs_until: {date: 2027-01-01, source_url: \"https://example.com/n\", "
        "checked_on: 2026-11-01, confidence: P}\n      shutdown_on:"))
    r = cli("catalog", "validate", order)
    assert r.code == 2 and "must not be after shutdown_on" in r.stderr and f"{order}:10" in r.stderr


def test_a_price_not_checked_since_its_offer_changed_is_stale(tmp_path):
    f = tmp_path / "acme.yaml"
    f.write_text(VALIDATE.replace("REPLACEMENT", "new-model"))
    before = load_catalog([f], as_of=date(2026, 10, 1))
    after = load_catalog([f], as_of=date(2026, 12, 2))
    p = after.history("acme/old-model/training")[0]
    assert not before.is_stale(p)
    assert after.stale_reason(p) == "last checked 2026-10-01, before its offer's shutdown_on date 2026-10-23"


def test_bundled_lifecycles_say_what_the_market_check_says():
    cat = load_catalog(as_of=date(2026, 12, 2))
    nano = cat.model_lifecycle("openai", "gpt-4.1-nano")
    assert (nano.shutdown_on.date, nano.replacement.id) == (date(2026, 10, 23), "gpt-5.4-nano")
    mini = cat.model_lifecycle("openai", "gpt-4o-mini")  # the provider-wide wind-down
    assert mini.new_jobs_until.date == date(2027, 1, 6) and mini.shutdown_on is None
    assert [r.since for r in mini.restrictions] == [date(2026, 5, 7), date(2026, 7, 2)]
    assert cat.model_lifecycle("openai", "o4-mini").shutdown_on.date == date(2026, 10, 23)
    assert cat.model_lifecycle("google-vertex", "gemini-2.5-flash").shutdown_on.date == date(2026, 10, 16)
    assert cat.model_lifecycle("openai", "ada").shutdown_on.date == date(2024, 1, 4)


def test_no_bundled_price_runs_past_its_offers_shutdown():
    cat = load_catalog(as_of=date(2026, 12, 2))
    for p in cat.prices:
        lc_ = cat.offer_lifecycle(p)
        if lc_ is not None and lc_.shutdown_on is not None:
            end = lc_.shutdown_on.date
            assert p.effective_from < end, p.id
            assert p.effective_until is not None and p.effective_until <= end, f"{p.id} runs past {end}"


def test_validate_warns_about_a_price_running_past_its_shutdown_and_show_lists_the_facts(cli, tmp_path):
    f = tmp_path / "acme.yaml"
    f.write_text(VALIDATE.replace("REPLACEMENT", "new-model"))
    r = cli("catalog", "validate", f, "--as-of", "2026-12-02")
    assert r.code == 0, r.output
    assert "runs past its offer's shutdown on 2026-10-23" in r.stderr
    assert "before its offer's shutdown_on date 2026-10-23" in r.stderr  # stale: not checked since
    show = cli("catalog", "show", "openai/gpt-4.1-nano", "--as-of", "2026-12-02")
    assert show.code == 0
    assert "shutdown_on: 2026-10-23 (passed on 2026-12-02)" in show.stdout
    assert "replacement: gpt-5.4-nano" in show.stdout
