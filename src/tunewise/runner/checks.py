"""Plan checks against the price catalog: every provider, model, GPU offer and open model a plan names
must exist (with did-you-mean), reported at the plan line that names it."""

from __future__ import annotations

from typing import Any

from tunewise.errors import BadInputError, Problem
from tunewise.plan.loader import LoadedPlan

# bundled local models -> their open-model id in the catalog (for serving estimates and calibration)
LOCAL_CATALOG_MODEL = {"minilm": "minilm-l6-v2", "smollm2": "smollm2-135m"}


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
        elif c.kind == "selfhost":
            check(("candidates", i, "family"), cat.open_model, c.family)
            _check_offer(lp, cat, ("candidates", i, "gpu"), c.gpu, check)
        elif c.kind == "local" and c.serve is not None:
            if c.serve.gpu is not None:
                _check_offer(lp, cat, ("candidates", i, "serve", "gpu"), c.serve.gpu, check)
                if c.model == "tfidf-logreg":
                    problems.append(lp.problem(("candidates", i, "serve", "gpu"),
                                               "a TF-IDF + logistic regression model runs on CPUs only",
                                               "Pin a CPU instance instead (serve: {cpu: PROVIDER/INSTANCE}) or "
                                               "remove 'serve' to size it on the cheapest offer"))
            else:
                check(("candidates", i, "serve", "cpu"), cat.cpu_instance, c.serve.cpu)
    return problems


def _check_offer(lp: LoadedPlan, cat: Any, loc: tuple[Any, ...], spec: str, check: Any) -> None:
    gpu, _, offer = spec.partition("@")
    if check(loc, cat.gpu, gpu) is not None:
        check(loc, cat.gpu_offer, gpu, offer)
