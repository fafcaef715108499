"""Lifecycle of the offer a candidate prices: refuse what does not exist on the pricing date, state
the limits of what does, and take retrains that cannot happen out of the horizon's cost."""

from __future__ import annotations

from tunewise.catalog import Catalog
from tunewise.catalog.lifecycle import WARNING, assess, last_job_month, refuse_if_unavailable
from tunewise.catalog.schema import Lifecycle
from tunewise.estimate._ledger import Ledger
from tunewise.estimate._priced import Priced
from tunewise.estimate.candidate import Candidate
from tunewise.estimate.models import Horizon


def check_lifecycle(c: Candidate, catalog: Catalog, horizon: Horizon, ledger: Ledger) -> Lifecycle | None:
    """The lifecycle governing ``c``; its facts go to the ledger. Raises ``OfferUnavailable`` when
    the offer is shut down, not yet available, or (for a fine-tune) takes no new jobs on the date."""
    if c.kind in ("api-finetune", "prompting"):
        provider = c.provider or ""
        model = catalog.api_model(provider, c.model)
        lc = catalog.model_lifecycle(provider, model.id)
        new_jobs = c.kind == "api-finetune"
        subject = f"{provider}/{model.id}"
        rep = catalog.describe_replacement(provider, lc.replacement.id) if lc and lc.replacement else None
    elif c.kind == "local" and not (c.gpu and c.offer):
        return None  # its serving offer is chosen among the offers available on the date (estimate.local)
    else:
        subject, lc = catalog.gpu_offer_lifecycle(c.gpu or "", c.offer or "")
        new_jobs = False
        rep = lc.replacement.id if lc and lc.replacement else None
    facts = assess(lc, subject, catalog.as_of, horizon_months=horizon.months, new_jobs=new_jobs,
                   replacement=rep)
    ledger.lifecycle = facts
    refuse_if_unavailable(facts, catalog.as_of, label=f"{c.kind} {subject}")
    for f in facts:
        tag = "LIFECYCLE" if f.severity == WARNING else "lifecycle"
        ledger.note(f"{tag}: {f.text} [{f.source_url}, checked {f.checked_on}, confidence {f.confidence}]")
    return lc


def apply_lifecycle(c: Candidate, p: Priced, lc: Lifecycle | None, catalog: Catalog, horizon: Horizon,
                    ledger: Ledger) -> None:
    """For a fine-tune whose new jobs end: no retrain on or after that date is priced."""
    if c.kind != "api-finetune" or p.status != "ok" or lc is None or lc.new_jobs_until is None:
        return
    end = lc.new_jobs_until.date
    ledger.new_jobs_until = end
    last = last_job_month(lc, catalog.as_of, horizon.months)
    if last is None:
        return
    p.last_retrain_month = last
    dropped = [m for m in horizon.retrain_months() if m > last]
    ledger.retrains_not_priced = dropped
    if dropped:
        months = ", ".join(map(str, dropped))
        ledger.note(f"RETRAINS IMPOSSIBLE: {len(dropped)} planned retrain(s) (month {months}) fall on or "
                    f"after {end}, when new fine-tuning jobs end; they are not priced and the fine-tuned "
                    "model is costed as kept unchanged to the end of the horizon")
    elif horizon.retrains_per_year:
        ledger.note(f"planned retrains all fall before {end}, when new fine-tuning jobs end; none "
                    "would be possible after it")
    else:
        ledger.note(f"no retrains planned; none would be possible on or after {end}")
