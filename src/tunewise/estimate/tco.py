"""Total cost of ownership over a horizon, break-even against the prompting baseline, ranking."""

from __future__ import annotations

from decimal import Decimal

from tunewise.estimate._priced import Priced
from tunewise.estimate.models import CostPart, Horizon, Traffic
from tunewise.estimate.ranges import Range, total

BREAK_EVEN_SEARCH_MONTHS = 120

_PART_NAMES = {"inference": "inference", "hosting": "hosting fees", "storage": "model storage"}


def month_costs(p: Priced, traffic: Traffic, month: int) -> dict[str, Range]:
    """Each recurring part for month ``month`` (1-based), rounded to money."""
    return {k: v.q() for k, v in p.monthly(traffic.requests_in_month(month)).items()}


def tco_parts(p: Priced, traffic: Traffic, horizon: Horizon) -> tuple[list[CostPart], list[Decimal]]:
    """Named parts that add up to the TCO, and the expected run cost of each month."""
    parts: list[CostPart] = []
    if p.train is not None:
        parts.append(CostPart(name="initial training", usd=p.train))
        retrains = [m for m in horizon.retrain_months() if p.retrain_possible(m)]
        if retrains:
            parts.append(CostPart(name=f"retraining x{len(retrains)} (months {', '.join(map(str, retrains))})",
                                  usd=p.train.times(len(retrains))))
    sums: dict[str, Range] = {}
    series: list[Decimal] = []
    for m in range(1, horizon.months + 1):
        costs = month_costs(p, traffic, m)
        series.append(sum((r.expected for r in costs.values()), Decimal(0)))
        for k, r in costs.items():
            sums[k] = sums.get(k, Range.zero()) + r
    for k, r in sums.items():
        parts.append(CostPart(name=f"{_PART_NAMES.get(k, k)} ({horizon.months} months)", usd=r))
    return parts, series


def cumulative(p: Priced, traffic: Traffic, horizon: Horizon, months: int) -> list[Decimal]:
    """Expected cumulative spend at the end of months 0..months (training paid at month 0)."""
    train = p.train.expected if p.train is not None else Decimal(0)
    retrain_at = {m for m in horizon.retrain_months(until=months + 1) if p.retrain_possible(m)}
    out = [train]
    for m in range(1, months + 1):
        run = sum((r.expected for r in month_costs(p, traffic, m).values()), Decimal(0))
        out.append(out[-1] + run + (train if m in retrain_at else 0))
    return out


def break_even(p: Priced, base: Priced, traffic: Traffic, horizon: Horizon) -> tuple[int | None, str]:
    """First month whose cumulative cost is <= the baseline's; searched up to 10 years."""
    n = max(horizon.months, BREAK_EVEN_SEARCH_MONTHS)
    mine, theirs = cumulative(p, traffic, horizon, n), cumulative(base, traffic, horizon, n)
    for m, (a, b) in enumerate(zip(mine, theirs)):
        if a <= b:
            if m == 0:
                return 0, "cheaper from the start"
            beyond = "" if m <= horizon.months else f" (beyond the {horizon.months}-month horizon)"
            return m, f"pays off in month {m}{beyond}"
    return None, f"does not pay off within {n} months"


def add_up(parts: list[CostPart]) -> Range:
    return total(part.usd for part in parts)
