"""The decision rule: measured quality and estimated cost in, a verdict with its reasons out. Pure.

The rule, as the report states it:

1. **Eligible**: quality measured here on the shared test items, a cost estimate, within the
   budget, and served within the latency objective.
2. **Best**: the eligible candidate with the highest score. Every other eligible candidate is
   compared with it on the same items (paired bootstrap of the difference). Because the best was
   picked out of N, each of the N - 1 comparisons uses a Bonferroni-corrected interval
   (level 1 - alpha / (N - 1)).
3. **Quality set**: the best; every candidate that is not shown to be worse than it (the interval
   of the difference reaches zero) or is shown to be equivalent to it (the interval lies inside
   +/- the equivalence margin); and, with a target, every candidate whose score reaches the target.
   A candidate shown to be worse, by more than the margin or not provably less, is out.
4. **Recommendation**: the cheapest total cost of ownership in the quality set. If it trains
   nothing (the TF-IDF floor, zero/few-shot, prompting), the verdict is **do not fine-tune**.

Candidates with unknown or user-given quality are ranked on cost only, apart; they never turn the
answer into "none" while a measured candidate is eligible. Break-even against the baseline is the
first month after which the cumulative cost stays below the baseline's, and it is claimed only when
the candidate's quality is known to be equivalent to the baseline's or better.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from statistics import NormalDist
from typing import Any

import numpy as np

from tunewise._json import decimal_text
from tunewise._money import usd
from tunewise.decision.paired import Scores

POWER = 0.80
Money3 = tuple[Decimal, Decimal, Decimal]  # low, expected, high


@dataclass(frozen=True)
class Option:
    """One candidate as the rule sees it."""

    id: str
    label: str
    trains: bool                       # it fine-tunes a model (False: floor, zero/few-shot, prompting)
    quality: float | None = None
    provenance: str | None = None      # 'measured' | 'user-given' | None
    ci: tuple[float, float] | None = None
    tco: Money3 | None = None
    fits_budget: bool | None = None
    serving_ok: bool | None = None     # meets the latency objective (None: not known)
    blocked: str | None = None         # why it cannot be chosen at all (e.g. a retired offer)
    series: list[Money3] = field(default_factory=list)  # cumulative cost at the end of months 0..H
    measure_cost: Decimal | None = None  # what measuring its quality on the test set would cost
    kind: str = ""


@dataclass(frozen=True)
class Settings:
    metric: str
    margin: float
    alpha: float
    target: float | None = None
    baseline: str | None = None


def _pts(x: float) -> str:
    """A difference in points of the metric (0.012 -> '+1.2 points')."""
    return f"{x * 100:+.1f} points"


def _z(p: float) -> float:
    return NormalDist().inv_cdf(p)


def compare(scores: Scores, a: str, b: str, alpha: float, margin: float) -> dict[str, Any]:
    """Paired difference a - b with a (1 - alpha) percentile interval, p-value, MDE and the margin verdicts."""
    i, j = scores.index(a), scores.index(b)
    d = scores.boot[i] - scores.boot[j]
    diff = float(scores.point[i] - scores.point[j])
    lo, hi = (float(x) for x in np.quantile(d, [alpha / 2, 1 - alpha / 2]))
    p = float(min(1.0, 2 * min((d <= 0).mean(), (d >= 0).mean())))
    se = float(d.std(ddof=1)) if len(d) > 1 else 0.0
    mde = (_z(1 - alpha / 2) + _z(POWER)) * se
    return {"vs": b, "diff": round(diff, 6), "ci_low": round(lo, 6), "ci_high": round(hi, 6),
            "level": round(1 - alpha, 6), "p_value": round(p, 6), "se": round(se, 6), "mde": round(mde, 6),
            "as_good": hi >= 0 or (lo >= -margin and hi <= margin),
            "not_shown_worse": hi >= 0, "shown_equivalent": lo >= -margin and hi <= margin,
            "shown_worse": hi < -margin, "shown_better": lo > margin}


def p_best(scores: Scores, ids: list[str]) -> dict[str, float]:
    """Share of resamples in which each candidate scores highest (ties shared)."""
    rows = scores.boot[[scores.index(c) for c in ids]]
    top = rows.max(axis=0)
    wins = (rows == top).astype(float)
    wins /= wins.sum(axis=0)
    return {c: round(float(w), 4) for c, w in zip(ids, wins.mean(axis=1))}


def break_even(mine: list[Money3], base: list[Money3]) -> dict[str, Any]:
    """First month after which ``mine`` stays at or below ``base`` (cumulative, months 0..H), for the
    expected figures and for the band's edges (earliest: my low vs their high; latest: my high vs their low)."""
    def first(a: list[Decimal], b: list[Decimal]) -> tuple[int | None, bool]:
        month = None
        for m in range(len(a) - 1, -1, -1):
            if a[m] <= b[m]:
                month = m
            else:
                break
        crossed_back = month is not None and any(a[m] <= b[m] for m in range(0, month))
        return month, crossed_back

    n = min(len(mine), len(base))
    exp, back = first([x[1] for x in mine[:n]], [x[1] for x in base[:n]])
    early, _ = first([x[0] for x in mine[:n]], [x[2] for x in base[:n]])
    late, _ = first([x[2] for x in mine[:n]], [x[0] for x in base[:n]])
    return {"expected": exp, "earliest": early, "latest": late, "crossed_back": back, "months": n - 1}


def _be_text(be: dict[str, Any]) -> str:
    h = be["months"]
    if be["expected"] is None:
        return f"does not pay off within the {h}-month horizon" + (
            f" (at the favourable end of the ranges from month {be['earliest']})" if be["earliest"] is not None else "")
    if be["expected"] == 0:
        text = "cheaper from the start"
    else:
        text = f"pays off from month {be['expected']}"
    lo, hi = be["earliest"], be["latest"]
    if (lo, hi) != (be["expected"], be["expected"]):
        text += (f" (month {lo if lo is not None else '?'} to "
                 + (f"month {hi}" if hi is not None else f"beyond month {h}") + " across the cost ranges)")
    if be["crossed_back"]:
        text += "; earlier it was cheaper for a while, then a retrain or growth pushed it back above"
    return text


def decide(options: list[Option], scores: Scores | None, s: Settings) -> dict[str, Any]:
    """The verdict: recommended option, the rule that chose it, the deciding figures and the reasons."""
    by_id = {o.id: o for o in options}
    paired = set(scores.ids) if scores is not None else set()
    measured = [o for o in options if o.provenance == "measured" and o.id in paired]
    eligible, excluded = [], {}
    for o in measured:
        why = _ineligible(o)
        if why:
            excluded[o.id] = why
        else:
            eligible.append(o)
    unknown = [o for o in options if o not in measured]
    out: dict[str, Any] = {"metric": s.metric, "margin": s.margin, "alpha": s.alpha, "target": s.target,
                           "n_test": scores.n if scores is not None else None,
                           "eligible": [o.id for o in eligible], "excluded": excluded,
                           "comparisons": {}, "p_best": {}, "quality_set": [], "reasons": []}
    if not eligible:
        out.update(_fallback(options, unknown, excluded, s))
        out["unknown_quality"] = _unknown(unknown, None, s)
        return out
    assert scores is not None
    k = len(eligible)
    alpha_each = s.alpha / (k - 1) if k > 1 else s.alpha
    pts = {o.id: float(scores.point[scores.index(o.id)]) for o in eligible}
    best = max(eligible, key=lambda o: (pts[o.id], -(o.tco[1] if o.tco else 0)))
    comps = {o.id: compare(scores, o.id, best.id, alpha_each, s.margin) for o in eligible if o.id != best.id}
    qset = [best.id] + [cid for cid, c in comps.items() if c["as_good"]]
    if s.target is not None:
        qset += [o.id for o in eligible if pts[o.id] >= s.target and o.id not in qset]
    rec = min((by_id[c] for c in qset), key=lambda o: (o.tco[1] if o.tco else Decimal(0), -pts[o.id], o.id))
    meets = s.target is not None and pts[rec.id] >= s.target
    rows = scores.boot[[scores.index(o.id) for o in eligible]]
    bias = float(rows.max(axis=0).mean() - max(pts.values()))
    out.update({"best": best.id, "comparisons": comps, "p_best": p_best(scores, [o.id for o in eligible]),
                "quality_set": qset, "recommended": rec.id, "alpha_per_comparison": round(alpha_each, 6),
                "selection_bias": round(bias, 6),
                "rule": ("meets-target" if meets else "best-below-target") if s.target is not None
                else "cheapest-equivalent",
                "verdict": "fine-tune" if rec.trains else "do-not-fine-tune"})
    mde = max((c["mde"] for c in comps.values()), default=None)
    out["mde"] = mde
    out["reasons"] = _reasons(rec, best, eligible, comps, pts, scores.n, k, alpha_each, s, mde)
    out["headline"] = _headline(rec, best, comps, pts, s, meets)
    out["unknown_quality"] = _unknown(unknown, rec, s)
    cheaper = [u for u in out["unknown_quality"] if u["cheaper_than_recommended"]]
    if cheaper:
        u = cheaper[0]
        more = f" (and {len(cheaper) - 1} more)" if len(cheaper) > 1 else ""
        out["headline"] += (f" Cheaper but not measured: {u['label']}{more}, about {usd(Decimal(u['tco_expected']))}"
                            + (f"; measuring it on the test set costs about {usd(Decimal(u['measure_cost_usd']))}"
                               if u["measure_cost_usd"] else "") + " — measure it before you rule it out.")
    out["break_even"] = _break_evens(options, scores, s, rec, alpha_each)
    return out


def _ineligible(o: Option) -> str | None:
    if o.blocked:
        return o.blocked
    if o.tco is None:
        return "no cost estimate"
    if o.fits_budget is False:
        return "over budget"
    if o.serving_ok is False:
        return "cannot meet the latency objective" + (" (measured p95 above it)" if o.kind in ("prompting", "api-finetune") else "")
    return None


def _headline(rec: Option, best: Option, comps: dict[str, Any], pts: dict[str, float], s: Settings,
              meets: bool) -> str:
    metric = s.metric.replace("_", " ")
    cost = usd(rec.tco[1]) if rec.tco else "?"
    if rec.id == best.id:
        core = f"{rec.label} scores best ({metric} {pts[rec.id]:.3f})"
        others = [c for c in comps.values() if c["as_good"]]
        if others:
            core += (f" and is the cheapest of the {len(others) + 1} candidates that cannot be told apart from it "
                     "on this test set")
        elif comps:
            core += ", shown to be better than every other measured candidate"
    else:
        c = comps[rec.id]
        gap = f"{_pts(c['diff'])} [{_pts(c['ci_low'])}, {_pts(c['ci_high'])}]"
        if c["as_good"]:
            how = ("is shown to be within the {:g}-point margin of".format(s.margin * 100) if c["shown_equivalent"]
                   else "is not shown to be worse than")
            core = (f"{rec.label} ({metric} {pts[rec.id]:.3f}) {how} the best, "
                    f"{best.label} ({pts[best.id]:.3f}; difference {gap}), and costs less")
        else:
            core = (f"{rec.label} reaches the target {s.target:.3f} ({metric} {pts[rec.id]:.3f}) at the lowest cost, "
                    f"though {best.label} scores higher ({pts[best.id]:.3f}, difference {gap})")
    target = ""
    if s.target is not None and not meets:
        target = f" No measured candidate reaches the target {metric} {s.target:.3f}."
    verb = "Fine-tune" if rec.trains else "Do not fine-tune"
    action = (f"use {rec.label}" if rec.trains else
              f"keep prompting with {rec.label}" if rec.kind == "prompting" else f"deploy {rec.label}")
    return f"{verb}: {action}. {core}; about {cost} over the horizon (estimated).{target}"


def _reasons(rec: Option, best: Option, eligible: list[Option], comps: dict[str, Any], pts: dict[str, float],
             n: int, k: int, alpha_each: float, s: Settings, mde: float | None) -> list[str]:
    out = []
    level = f"{(1 - alpha_each) * 100:.1f}%"
    out.append(f"{k} measured candidate(s) are eligible (priced, within budget and the latency objective); "
               f"each is compared with the best, {best.label}, on the same {n} test items with a paired "
               f"bootstrap; intervals are {level} (alpha {s.alpha:g} / {max(k - 1, 1)} comparisons, "
               "corrected for picking the best of them)")
    for cid, c in sorted(comps.items(), key=lambda t: -pts[t[0]]):
        o = next(x for x in eligible if x.id == cid)
        if c["shown_equivalent"]:
            word = f"shown equivalent (interval inside ±{s.margin * 100:g} points)"
        elif c["not_shown_worse"]:
            word = "not distinguishable from the best"
        else:
            word = "shown to be worse than the best"
        out.append(f"{o.label}: {s.metric} {pts[cid]:.3f}, {_pts(c['diff'])} vs the best "
                   f"[{_pts(c['ci_low'])}, {_pts(c['ci_high'])}], p={c['p_value']:.3g}: {word}; "
                   f"cost {usd(o.tco[1] if o.tco else None)}")
    if mde is not None:
        text = (f"with {n} test items this comparison detects differences of about {mde * 100:.1f} points "
                f"(80% power at {level})")
        if mde > s.margin > 0:
            need = int(n * (mde / s.margin) ** 2) + 1
            text += (f"; smaller differences, including the {s.margin * 100:g}-point margin, cannot be told "
                     f"apart here — about {need:,} test items would be needed to show equivalence within it")
        out.append(text)
    if rec.tco is not None:
        out.append(f"{rec.label} costs {usd(rec.tco[1])} ({usd(rec.tco[0])}–{usd(rec.tco[2])}) "
                   "over the horizon, the least in the quality set")
    return out


def _fallback(options: list[Option], unknown: list[Option], excluded: dict[str, str], s: Settings) -> dict[str, Any]:
    """No measured candidate is eligible: a user-given score may stand in, flagged; else no recommendation."""
    given = [o for o in unknown if o.provenance == "user-given" and o.quality is not None and _ineligible(o) is None]
    if given:
        good = [o for o in given if s.target is None or o.quality >= s.target]
        pool = good or given
        rec = (min(pool, key=lambda o: (o.tco[1], -(o.quality or 0))) if good
               else max(pool, key=lambda o: (o.quality or 0, -o.tco[1])))
        return {"recommended": rec.id, "rule": "user-given", "verdict": "fine-tune" if rec.trains else "do-not-fine-tune",
                "headline": (f"{'Fine-tune' if rec.trains else 'Do not fine-tune'}: {rec.label}, chosen on a "
                             f"score the plan gives ({rec.quality:.3f}), not one measured here. Measure it "
                             "before committing money."),
                "reasons": ["no candidate has a quality measured on the shared test items that is eligible"
                            + (f" ({'; '.join(f'{k}: {v}' for k, v in excluded.items())})" if excluded else "")]}
    why = "; ".join(f"{next(o.label for o in options if o.id == k)}: {v}" for k, v in excluded.items())
    return {"recommended": None, "rule": "none", "verdict": "none",
            "headline": "No recommendation: " + (f"no measured candidate is eligible ({why})." if why else
                                                 "no candidate has a measured quality."),
            "reasons": []}


def _unknown(unknown: list[Option], rec: Option | None, s: Settings) -> list[dict[str, Any]]:
    """Quality-unknown (or user-given) candidates, ranked on cost, with what measuring them costs."""
    priced = sorted((o for o in unknown if o.tco is not None), key=lambda o: o.tco[1])
    out = []
    for rank, o in enumerate(priced, 1):
        cheaper = rec is not None and rec.tco is not None and o.tco[1] < rec.tco[1]
        out.append({"id": o.id, "label": o.label, "cost_rank": rank, "tco_expected": str(o.tco[1]),
                    "provenance": o.provenance, "quality": o.quality,
                    "measure_cost_usd": decimal_text(o.measure_cost) if o.measure_cost is not None else None,
                    "cheaper_than_recommended": cheaper,
                    "note": (f"{usd(rec.tco[1] - o.tco[1])} cheaper than the recommendation over the horizon, "
                             + (f"but its score ({o.quality:.3f}) is user-given, not measured here"
                                if o.provenance == "user-given" and o.quality is not None
                                else "but its quality is unknown") + (f"; measuring it on the test set costs about "
                                                             f"{usd(o.measure_cost)} (tunewise eval)"
                                                             if o.measure_cost is not None else "")
                             if cheaper and rec is not None and rec.tco is not None else None)})
    for o in unknown:
        if o.tco is None:
            out.append({"id": o.id, "label": o.label, "cost_rank": None, "tco_expected": None,
                        "provenance": o.provenance, "quality": o.quality, "measure_cost_usd": None,
                        "cheaper_than_recommended": False, "note": o.blocked or "not priced"})
    return out


def _break_evens(options: list[Option], scores: Scores, s: Settings, rec: Option, alpha: float) -> dict[str, Any]:
    base = next((o for o in options if o.id == s.baseline), None)
    if base is None or not base.series:
        return {}
    out = {}
    for o in options:
        if o.id == base.id or not o.series:
            continue
        be = break_even(o.series, base.series)
        if base.provenance == "measured" and o.provenance == "measured" and base.id in scores.ids \
                and o.id in scores.ids:
            c = compare(scores, o.id, base.id, alpha, s.margin)
            # known to be equivalent or better: non-inferior, its interval above -margin
            claim = c["ci_low"] > -s.margin
            quality = (f"quality vs the baseline {_pts(c['diff'])} [{_pts(c['ci_low'])}, {_pts(c['ci_high'])}]"
                       + ("" if claim else ": not shown to be as good as the baseline, so no saving is claimed"))
        else:
            claim = False
            quality = "the baseline's quality or this candidate's is not measured, so this is a cost crossover only"
        out[o.id] = {**be, "claimed": claim, "text": _be_text(be), "quality": quality}
    return out
