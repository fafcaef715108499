"""Offer lifecycle on a pricing date: what is refused, what is a warning, what is only worth knowing.

Pure functions over ``schema.Lifecycle``; the catalog resolves which lifecycle applies to an offer
(price entry over model over provider) and the estimator decides what to do with the facts.
End dates are exclusive: an offer with ``shutdown_on`` D is usable on D-1 and gone on D.
"""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass
from datetime import date

from tunewise.catalog.schema import Lifecycle, LifecycleDate, Restriction
from tunewise.errors import BadInputError

REFUSED, WARNING, INFO = "refused", "warning", "info"


@dataclass(frozen=True)
class LifecycleFact:
    """One lifecycle fact as it bears on an estimate made on ``as_of``.

    ``kind``: not-yet-available | shut-down | shuts-down | new-jobs-ended | new-jobs-end |
    restricted | restriction-ahead. ``severity``: refused (the offer cannot be priced on that
    date), warning (it can, with a limit the reader must see), info (after the horizon).
    """

    kind: str
    severity: str
    date: date
    subject: str
    text: str
    source_url: str
    checked_on: date
    confidence: str
    replacement: str | None = None

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["date"], d["checked_on"] = self.date.isoformat(), self.checked_on.isoformat()
        return d


class OfferUnavailable(BadInputError):
    """The offer does not exist on the pricing date (shut down, not yet available, no new jobs)."""

    def __init__(self, facts: list[LifecycleFact], as_of: date, label: str | None = None) -> None:
        self.facts = facts
        first = facts[0]
        others = "; ".join(f.text for f in facts[1:])
        fix = "Price the replacement instead" if first.replacement else "Pick a current offer"
        if first.kind == "not-yet-available":
            fix += f", or price it --as-of {first.date} or later"
        else:
            fix += f", or price it as it was with --as-of before {first.date}"
        super().__init__(f"{label or first.subject} is not available on {as_of}",
                         why=first.text + (f"; {others}" if others else ""),
                         fix=fix + f" (source: {first.source_url}, checked {first.checked_on})")


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months (clamped to the month's last day)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def assess(lc: Lifecycle | None, subject: str, as_of: date, *, horizon_months: int | None = None,
           new_jobs: bool = False, replacement: str | None = None) -> list[LifecycleFact]:
    """The facts of ``lc`` for an estimate on ``as_of`` over ``horizon_months``.

    ``new_jobs``: the estimate needs new (fine-tuning) jobs, so ``new_jobs_until`` and
    job restrictions apply. ``replacement``: the replacement as the reader should see it
    (default: the id in the data). Refused facts come first.
    """
    if lc is None:
        return []
    end = add_months(as_of, horizon_months) if horizon_months else None
    rep = replacement or (lc.replacement.id if lc.replacement else None)
    rep_text = f"; the named replacement is {rep}" if rep else ""
    out: list[LifecycleFact] = []

    def fact(kind: str, severity: str, d: LifecycleDate | Restriction, day: date, text: str,
             with_rep: bool = False) -> None:
        if day <= as_of and d.checked_on < day:
            text += f" (announced; last checked {d.checked_on}, before that date: re-check it)"
        out.append(LifecycleFact(kind, severity, day, subject, text + (rep_text if with_rep else ""),
                                 d.source_url, d.checked_on, d.confidence, rep if with_rep else None))

    if lc.available_from and as_of < lc.available_from.date:
        fact("not-yet-available", REFUSED, lc.available_from, lc.available_from.date,
             f"{subject} is available only from {lc.available_from.date}")
    if lc.shutdown_on:
        d = lc.shutdown_on.date
        if as_of >= d:
            fact("shut-down", REFUSED, lc.shutdown_on, d, f"{subject} was shut down on {d}", True)
        elif end is not None and d < end:
            fact("shuts-down", WARNING, lc.shutdown_on, d,
                 f"{subject} shuts down on {d}, inside the {horizon_months}-month horizon: it cannot be "
                 "used after that date, yet the costs here run to the end of the horizon", True)
        else:
            fact("shuts-down", INFO, lc.shutdown_on, d, f"{subject} shuts down on {d}, after the horizon",
                 True)
    if new_jobs and lc.new_jobs_until:
        d = lc.new_jobs_until.date
        if as_of >= d:
            fact("new-jobs-ended", REFUSED, lc.new_jobs_until, d,
                 f"no new fine-tuning jobs on {subject} since {d}", True)
        elif end is not None and d < end:
            fact("new-jobs-end", WARNING, lc.new_jobs_until, d,
                 f"new fine-tuning jobs on {subject} end on {d}: the first training must start before "
                 "then, and retrains on or after that date are impossible", True)
        else:
            fact("new-jobs-end", INFO, lc.new_jobs_until, d,
                 f"new fine-tuning jobs on {subject} end on {d}, after the horizon")
    for r in lc.restrictions:
        if r.applies_to == "new-jobs" and not new_jobs:
            continue
        what = f"new fine-tuning jobs on {subject}" if r.applies_to == "new-jobs" else f"use of {subject}"
        if r.since <= as_of:
            fact("restricted", WARNING, r, r.since, f"since {r.since}, {what}: {r.who}")
        elif end is None or r.since < end:
            fact("restriction-ahead", WARNING, r, r.since, f"from {r.since}, {what}: {r.who}")
    order = {REFUSED: 0, WARNING: 1, INFO: 2}
    return sorted(out, key=lambda f: (order[f.severity], f.date))


def refuse_if_unavailable(facts: list[LifecycleFact], as_of: date, label: str | None = None) -> None:
    refused = [f for f in facts if f.severity == REFUSED]
    if refused:
        raise OfferUnavailable(refused, as_of, label)


def last_job_month(lc: Lifecycle | None, as_of: date, months: int) -> int | None:
    """The last month index m (0..months) whose date as_of + m months is before new_jobs_until;
    None when no end of new jobs falls inside the horizon."""
    if lc is None or lc.new_jobs_until is None:
        return None
    d = lc.new_jobs_until.date
    if add_months(as_of, months) < d:
        return None
    m = 0
    while m < months and add_months(as_of, m + 1) < d:
        m += 1
    return m
