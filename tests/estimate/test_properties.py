"""Property tests of the arithmetic (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tunewise.estimate import Candidate, Estimate, Histogram, Horizon, Range, Traffic, Workload, estimate

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

CANDIDATES = ["api-finetune:openai/gpt-4o-mini", "api-finetune:fireworks/llama-3.1-8b",
              "api-finetune:mistral/open-mistral-7b", "selfhost:qwen2.5-1.5b/lora/h100-80gb@runpod",
              "selfhost:llama-3.1-8b/qlora/l4-24gb@runpod[gc=on]", "prompting:openai/gpt-4o-mini[k=3]"]

tokens = st.integers(min_value=1_000, max_value=50_000_000)
examples = st.integers(min_value=10, max_value=50_000)
traffic_st = st.builds(
    Traffic, requests_per_month=st.integers(0, 5_000_000).map(D), input_tokens=st.integers(0, 4000).map(D),
    output_tokens=st.integers(0, 1000).map(D), growth_pct_per_month=st.integers(-20, 30).map(D))


def _workload(n: int, total: int) -> Workload:
    return Workload(examples=n, tokens_total=total, max_tokens=min(total, 2000))


@SETTINGS
@given(n=examples, a=tokens, b=tokens, cand=st.sampled_from(CANDIDATES[:5]))
def test_training_cost_is_monotone_in_tokens(catalog, n, a, b, cand):
    lo, hi = sorted((a, b))
    t = Traffic(requests_per_month=D(0), input_tokens=D(0), output_tokens=D(0))
    e1, = estimate([cand], _workload(n, lo), t, catalog=catalog)
    e2, = estimate([cand], _workload(n, hi), t, catalog=catalog)
    for part in ("low", "expected", "high"):
        assert getattr(e1.train_usd, part) <= getattr(e2.train_usd, part)
        assert getattr(e1.billed_tokens, part) <= getattr(e2.billed_tokens, part)


@SETTINGS
@given(e1=st.integers(1, 12), e2=st.integers(1, 12), total=tokens,
       cand=st.sampled_from(CANDIDATES[:5]))
def test_training_cost_is_monotone_in_epochs(catalog, e1, e2, total, cand):
    lo, hi = sorted((e1, e2))
    t = Traffic(requests_per_month=D(0), input_tokens=D(0), output_tokens=D(0))
    w = _workload(1000, total)
    a, = estimate([f"{cand.split('[')[0]}[epochs={lo}]"], w, t, catalog=catalog)
    b, = estimate([f"{cand.split('[')[0]}[epochs={hi}]"], w, t, catalog=catalog)
    assert a.train_usd.expected <= b.train_usd.expected
    assert a.train_usd.high <= b.train_usd.high


def _walk(obj, path="estimate"):
    """Yield (path, value) for every leaf of an estimate."""
    if isinstance(obj, Estimate | Range) or hasattr(obj, "model_fields"):
        for k in type(obj).model_fields:
            yield from _walk(getattr(obj, k), f"{path}.{k}")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk(v, f"{path}[{k}]")
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, obj


@SETTINGS
@given(n=examples, total=tokens, traffic=traffic_st, months=st.integers(1, 36), retrains=st.integers(0, 12))
def test_bands_ordered_parts_add_up_and_no_float(catalog, n, total, traffic, months, retrains):
    ests = estimate(CANDIDATES, _workload(n, total), traffic, Horizon(months=months, retrains_per_year=retrains),
                    catalog=catalog)
    for e in ests:
        for path, value in _walk(e):
            assert not isinstance(value, float), f"float at {path}"
        if e.status != "ok":
            continue
        for r in (e.train_usd, e.monthly_usd, e.tco_usd, *[p.usd for p in e.parts]):
            assert r.low <= r.expected <= r.high
            assert r.low >= 0
        for part in ("low", "expected", "high"):
            assert getattr(e.tco_usd, part) == sum((getattr(p.usd, part) for p in e.parts), D(0))
        # the monthly series plus training and retraining is the expected TCO
        train_parts = sum((p.usd.expected for p in e.parts if "training" in p.name), D(0))
        assert train_parts + sum(e.monthly_series_usd, D(0)) == e.tco_usd.expected
        assert len(e.monthly_series_usd) == months
    ranks = sorted(e.rank for e in ests if e.rank is not None)
    assert ranks == list(range(1, len(ranks) + 1))


@SETTINGS
@given(traffic=traffic_st, extra=st.integers(1, 1_000_000))
def test_inference_cost_is_monotone_in_requests(catalog, traffic, extra):
    more = traffic.model_copy(update={"requests_per_month": traffic.requests_per_month + extra})
    w = _workload(1000, 300_000)
    for cand in CANDIDATES:
        a, = estimate([cand], w, traffic, catalog=catalog)
        b, = estimate([cand], w, more, catalog=catalog)
        assert a.monthly_usd.expected <= b.monthly_usd.expected


@SETTINGS
@given(day=st.dates(min_value=date(2022, 1, 1), max_value=date(2026, 11, 25)))
def test_as_of_uses_the_price_valid_on_that_date(catalog, day):
    """For every priced thing: the selected price is in force on ``day`` and no later entry is."""
    in_force = {p.key: p for p in catalog.select(as_of=day)}
    for p in catalog.prices:
        if p.valid_on(day):
            chosen = in_force[p.key]
            assert chosen.effective_from >= p.effective_from
            assert chosen.valid_on(day)
        elif p.key in in_force:
            assert in_force[p.key].id != p.id
    gpt35 = in_force.get("openai/gpt-3.5-turbo/tuned-input")
    if day < date(2023, 8, 22) or day >= date(2026, 10, 23):  # before launch / after the shutdown
        assert gpt35 is None
    else:
        assert gpt35.usd == (D(12) if day < date(2023, 11, 6) else D(3))


@SETTINGS
@given(lengths=st.lists(st.integers(1, 40_000), min_size=1, max_size=200),
       limit=st.integers(16, 70_000))
def test_truncation_band_contains_the_truth(lengths, limit):
    """With the audit's own histogram, the truncated total is bounded correctly at any limit."""
    from array import array

    from tunewise.audit.stats import length_stats

    s = length_stats(array("I", lengths), 0, 0)
    w = Workload.from_audit({"examples": len(lengths), "tokens": {"o200k_base": s}})
    r, _notes = w.truncated_tokens(limit)
    truth = sum(min(x, limit) for x in lengths)
    assert r.low <= truth <= r.high
    assert r.high <= sum(lengths)


@SETTINGS
@given(lengths=st.lists(st.integers(1, 5000), min_size=1, max_size=100), limit=st.integers(16, 6000))
def test_truncation_without_histogram_is_bounded(lengths, limit):
    w = Workload(examples=len(lengths), tokens_total=sum(lengths), max_tokens=max(lengths))
    r, _ = w.truncated_tokens(limit)
    assert r.low <= sum(min(x, limit) for x in lengths) <= r.high


def test_histogram_layouts_agree():
    bounds = Histogram(edges=[D(0), D(100), D(200), D(400)], counts=[3, 2, 1], sums=[150, 300, 350])
    upper = Histogram(edges=[D(100), D(200), D(400)], counts=[3, 2, 1], sums=[150, 300, 350])
    a = Workload(examples=6, tokens_total=800, max_tokens=350, histogram=bounds).truncated_tokens(200)[0]
    b = Workload(examples=6, tokens_total=800, max_tokens=350, histogram=upper).truncated_tokens(200)[0]
    assert a == b == Range.exact(D(650))  # 150 + 300 + min(350, 200)


def test_growth_compounds(catalog):
    t = Traffic(requests_per_month=D(1000), input_tokens=D(1000), output_tokens=D(0), growth_pct_per_month=D(10))
    e, = estimate(["api-finetune:openai/gpt-4o-mini"], _workload(100, 10_000), t, Horizon(months=3),
                  catalog=catalog)
    # 1,000 x 1,000 tokens x $0.30/M = $0.30, then x1.1 and x1.21
    assert e.monthly_series_usd == [D("0.3000"), D("0.3300"), D("0.3630")]


def test_candidate_ids_round_trip():
    for text in CANDIDATES + ["selfhost:llama-3.1-8b/lora/h100-80gb@runpod-spot[x2]",
                              "prompting:openai/gpt-4o[k=5]", "api-finetune:openai/o4-mini[hours=3,objective=rft]"]:
        c = Candidate.parse(text)
        assert Candidate.parse(c.id) == c
