"""Plan checks against the price catalog: every provider, model, GPU offer and open model a plan names
must exist (with did-you-mean), reported at the plan line that names it. Offer lifecycles on the
plan's pricing date are warnings at the candidate's line: a shut-down offer (the run reports it as
unavailable instead of pricing it), an end of new fine-tuning jobs inside the horizon (retrains after
it are impossible and not priced), an access restriction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tunewise.errors import BadInputError, Problem
from tunewise.plan.loader import LoadedPlan

# bundled local models -> their open-model id in the catalog (for serving estimates and calibration)
LOCAL_CATALOG_MODEL = {"minilm": "minilm-l6-v2", "smollm2": "smollm2-135m"}


def selfhost_model_ref(lp: LoadedPlan, family: str) -> str:
    """A self-host 'family' as the estimator takes it: a catalog id as is, a config.json path made
    relative to the plan file."""
    from tunewise.estimate.hfconfig import looks_like_config

    if looks_like_config(family) and not Path(family).expanduser().is_absolute():
        return str(lp.resolve(Path(family)))
    return family


def load_plan_catalog(lp: LoadedPlan) -> Any:
    """The catalog as the plan asks for it (its as-of date, staleness window and extra file)."""
    from tunewise.catalog import load_catalog

    plan = lp.plan
    extra = [lp.resolve(plan.prices.catalog_file)] if plan.prices.catalog_file else []
    try:
        return load_catalog(extra_files=extra, as_of=plan.prices.as_of,
                            stale_after_days=plan.prices.stale_after_days)
    except BadInputError as exc:
        raise BadInputError(exc.what, where=exc.where or lp.where("prices", "catalog_file"), why=exc.why,
                            fix=exc.fix, problems=exc.problems) from None


def catalog_problems(lp: LoadedPlan) -> list[Problem]:
    """Problems for names the catalog does not know, each at its plan line."""
    cat = load_plan_catalog(lp)
    problems: list[Problem] = []

    def check(loc: tuple[Any, ...], fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except BadInputError as exc:
            problems.append(lp.problem(loc, exc.what + (f": {exc.why}" if exc.why else ""), exc.fix or ""))
            return None

    for i, c in enumerate(lp.plan.candidates):
        if c.kind in ("api-finetune", "prompting"):
            if check(("candidates", i, "provider"), cat.provider, c.provider) is None:
                continue
            m = check(("candidates", i, "model"), cat.api_model, c.provider, c.model)
            if m is not None and c.kind == "api-finetune" and not m.fine_tunable:
                problems.append(lp.problem(("candidates", i, "model"),
                                           f"{c.provider}/{c.model} cannot be fine-tuned (catalog)",
                                           "Use kind: prompting for it, or pick a fine-tunable model"))
            elif m is not None:
                problems += _lifecycle_problems(lp, cat, ("candidates", i, "model"), c.kind,
                                                cat.model_lifecycle(c.provider, m.id), f"{c.provider}/{m.id}",
                                                c.provider)
        elif c.kind == "selfhost":
            from tunewise.estimate.hfconfig import resolve_open_model

            check(("candidates", i, "family"), resolve_open_model, cat, selfhost_model_ref(lp, c.family))
            problems += _check_offer(lp, cat, ("candidates", i, "gpu"), c.gpu, check)
        elif c.kind == "local" and c.serve is not None:
            if c.serve.gpu is not None:
                problems += _check_offer(lp, cat, ("candidates", i, "serve", "gpu"), c.serve.gpu, check)
                if c.model == "tfidf-logreg":
                    problems.append(lp.problem(("candidates", i, "serve", "gpu"),
                                               "a TF-IDF + logistic regression model runs on CPUs only",
                                               "Pin a CPU instance instead (serve: {cpu: PROVIDER/INSTANCE}) or "
                                               "remove 'serve' to size it on the cheapest offer"))
            else:
                check(("candidates", i, "serve", "cpu"), cat.cpu_instance, c.serve.cpu)
    return problems


def _check_offer(lp: LoadedPlan, cat: Any, loc: tuple[Any, ...], spec: str, check: Any) -> list[Problem]:
    gpu, _, offer = spec.partition("@")
    if check(loc, cat.gpu, gpu) is None or check(loc, cat.gpu_offer, gpu, offer) is None:
        return []
    subject, lc = cat.gpu_offer_lifecycle(gpu, offer)
    return _lifecycle_problems(lp, cat, loc, "selfhost", lc, subject, None)


def _lifecycle_problems(lp: LoadedPlan, cat: Any, loc: tuple[Any, ...], kind: str, lc: Any, subject: str,
                        provider: str | None) -> list[Problem]:
    """Warnings for the lifecycle facts of one offer on the plan's pricing date, over its horizon."""
    from tunewise.catalog.lifecycle import INFO, REFUSED, assess, last_job_month

    plan = lp.plan
    rep = None
    if lc is not None and lc.replacement is not None:
        rep = cat.describe_replacement(provider, lc.replacement.id) if provider else lc.replacement.id
    facts = assess(lc, subject, cat.as_of, horizon_months=plan.horizon_months,
                   new_jobs=kind == "api-finetune", replacement=rep)
    out = []
    for f in facts:
        if f.severity == INFO:
            continue
        src = f" (source: {f.source_url}, checked {f.checked_on})"
        if f.severity == REFUSED:
            out.append(lp.problem(loc, f"{kind} {subject} is not available on {cat.as_of}: {f.text}; the run "
                                  "reports it as unavailable instead of pricing it",
                                  ("Replace it with the named replacement" if rep else "Pick a current offer")
                                  + src, severity="warning"))
        else:
            out.append(lp.problem(loc, f.text, src.strip(" ()").capitalize(), severity="warning"))
    if kind == "api-finetune" and plan.retrains_per_year and lc is not None and lc.new_jobs_until is not None:
        last = last_job_month(lc, cat.as_of, plan.horizon_months)
        if last is not None and not any(f.severity == REFUSED for f in facts):
            out.append(lp.problem(loc, f"retrains of {subject} on or after {lc.new_jobs_until.date} are impossible "
                                  "(no new fine-tuning jobs): they are not priced",
                                  "Plan the retrains before that date, or move to an offer that keeps taking jobs",
                                  severity="warning"))
    return out
