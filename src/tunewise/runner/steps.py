"""The run's steps as thin adapters over the library packages: audit, one pilot per local candidate.

Each returns plain JSON (the step's cache record). Estimates live in ``runner.estimates``.
"""

from __future__ import annotations

import inspect
import traceback
from pathlib import Path
from typing import Any

from tunewise.errors import BadInputError, TunewiseError
from tunewise.plan.loader import LoadedPlan
from tunewise.plan.schema import LOCAL_MODELS, LocalCandidate
from tunewise import _json

AUDIT_TOKENIZERS = ("o200k_base",)


def audit_inputs(lp: LoadedPlan) -> dict[str, Any]:
    d = lp.plan.data
    return {"train": lp.resolve(d.train), "validation": lp.resolve(d.validation), "format": d.format,
            "columns": d.columns, "license": d.license, "source": d.source, "intended_use": d.intended_use,
            "tokenizers": list(AUDIT_TOKENIZERS)}


def run_audit(lp: LoadedPlan) -> dict[str, Any]:
    from tunewise.audit import audit_file
    from tunewise.data import Columns

    d = lp.plan.data
    kwargs: dict[str, Any] = {
        "fmt": d.format, "columns": Columns(**d.columns.model_dump()), "tokenizers": AUDIT_TOKENIZERS,
        "validation": lp.resolve(d.validation), "license": d.license, "source": d.source,
        "intended_use": d.intended_use,
    }
    accepted = inspect.signature(audit_file).parameters
    kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    try:
        report = audit_file(lp.resolve(d.train), **kwargs)
    except BadInputError as exc:
        raise BadInputError(f"the audit of data.train failed: {exc.what}", where=exc.where or lp.where("data", "train"),
                            why=exc.why, fix=exc.fix, problems=exc.problems) from None
    out = _json.jsonable(report.to_dict())
    out["file"] = str(lp.resolve(d.train))
    return out


def pilot_inputs(lp: LoadedPlan, c: LocalCandidate) -> dict[str, Any]:
    d, p = lp.plan.data, lp.plan.pilot
    model = c.model if c.model in LOCAL_MODELS else lp.resolve(Path(c.model))
    return {"train": lp.resolve(d.train), "validation": lp.resolve(d.validation), "test": lp.resolve(d.test),
            "columns": d.columns, "format": d.format, "drop_test_overlap": d.drop_test_overlap, "candidate": c.model_dump(exclude={"label", "note", "serve"}),
            "model_files": _dir_digest(model) if isinstance(model, Path) else model,
            "seed": p.seed, "epochs": c.epochs or p.epochs,
            "max_train_examples": c.max_train_examples or p.max_train_examples,
            "fractions": list(p.learning_curve) if c.learning_curve else None,
            "target": lp.plan.task.target, "metric": lp.plan.task.metric, "card": _card_options(lp, c)}


def _card_options(lp: LoadedPlan, c: LocalCandidate) -> dict[str, Any]:
    """What the run dir's model card (README.md) says about rights: from the plan."""
    d = lp.plan.data
    return {"data_license": d.license, "data_source": d.source, "intended_use": d.intended_use,
            "base_model_license": c.base_model_license}


def _dir_digest(path: Path) -> list[Any]:
    return sorted([str(f.relative_to(path)), f.stat().st_size, f.stat().st_mtime_ns]
                  for f in path.rglob("*") if f.is_file())


def pilot_config(lp: LoadedPlan, c: LocalCandidate, run_dir: Path, *, progress: bool = True) -> Any:
    from tunewise.pilot import PilotConfig

    d, p = lp.plan.data, lp.plan.pilot
    prompting = c.method in ("zero-shot", "few-shot")
    kwargs: dict[str, Any] = {
        "data": lp.resolve(d.train), "model": c.model if c.model in LOCAL_MODELS else str(lp.resolve(Path(c.model))),
        "method": c.method, "out_dir": run_dir, "seed": p.seed,
        "max_train_examples": c.max_train_examples or p.max_train_examples,
        "epochs": float(c.epochs or p.epochs), "validation": lp.resolve(d.validation),
        "test": lp.resolve(d.test), "text_field": d.columns.text, "label_field": d.columns.label,
        "drop_test_overlap": d.drop_test_overlap,
        "target": float(lp.plan.task.target) if lp.plan.task.target is not None else None,
        "target_metric": lp.plan.task.metric, "run_baseline": False, "progress": progress, "overwrite": True,
        "executor": "inline",  # the pilot is itself one job of the run's executor: no pool inside a pool
        "extra": _card_options(lp, c),
    }
    if c.learning_curve and p.learning_curve and not prompting:
        kwargs["fractions"] = tuple(float(f) for f in p.learning_curve)
    if c.method == "few-shot" and c.shots:
        kwargs["few_shot_k"] = c.shots
    accepted = {f for f in PilotConfig.__dataclass_fields__}
    return PilotConfig(**{k: v for k, v in kwargs.items() if k in accepted})


def run_pilot_step(lp: LoadedPlan, c: LocalCandidate, run_dir: Path, *, progress: bool = True) -> dict[str, Any]:
    """Run one local pilot. Bad data/options -> BadInputError at the candidate's plan line. A pilot
    that cannot run on this machine (missing extra or asset) is 'skipped'; an internal fault is
    'failed' with its reason (the traceback is kept in run_dir/error.txt) and the run goes on."""
    i = lp.candidate_index(c.id)
    try:
        from tunewise.pilot import run_pilot

        cfg = pilot_config(lp, c, run_dir, progress=progress)
        result = run_pilot(cfg)
    except BadInputError as exc:
        raise BadInputError(f"pilot '{c.id}' cannot run: {exc.what}", where=exc.where or lp.where("candidates", i),
                            why=exc.why, fix=exc.fix, problems=exc.problems) from None
    except TunewiseError as exc:  # missing extra / missing offline asset: cannot run here
        return {"status": "skipped", "reason": exc.render(), "candidate": c.id}
    except ImportError as exc:
        return {"status": "skipped", "reason": f"cannot run here: {exc}", "candidate": c.id}
    except Exception as exc:  # noqa: BLE001 - one failing pilot must not lose the other steps' work
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
        return {"status": "failed", "reason": f"{type(exc).__name__}: {exc} (traceback in {run_dir / 'error.txt'})",
                "candidate": c.id}
    out = _json.jsonable(result.to_dict())
    out.update(status="ok", candidate=c.id, run_dir=str(run_dir))
    return out


PILOT_JOB = "tunewise.runner.steps:pilot_job"


def pilot_job(plan: str, candidate: str, run_dir: str) -> dict[str, Any]:
    """One local pilot as a job for ``tunewise.scale`` (process pool or Ray): loads the plan itself,
    so only strings cross the process boundary. Bad input comes back as a record, not an exception,
    so that the caller can report it with exit code 2."""
    from tunewise.runner.run import validate_plan

    lp = validate_plan(Path(plan))
    c = next(x for x in lp.plan.candidates if x.id == candidate)
    try:
        return run_pilot_step(lp, c, Path(run_dir), progress=False)
    except BadInputError as exc:
        return {"status": "bad-input", "candidate": candidate, "what": exc.what, "where": exc.where,
                "why": exc.why, "fix": exc.fix, "problems": list(exc.problems or [])}


def pilot_complete(record: dict[str, Any]) -> bool:
    """A cached pilot is reusable only while its run directory is still complete."""
    if record.get("status") != "ok":
        return True
    rd = record.get("run_dir")
    return bool(rd) and (Path(rd) / "COMPLETE").is_file()


def pilot_view(d: dict[str, Any]) -> dict[str, Any]:
    """The pilot JSON with the few fields the report reads under fixed names."""
    v = dict(d)
    if v.get("status") != "ok":
        return v
    model = v.get("model")
    v["model_name"] = model.get("name", str(model)) if isinstance(model, dict) else model
    if isinstance(model, dict) and model.get("note"):
        v["model_note"] = model["note"]
    n = None
    for key in ("n_test", "test_examples"):
        if isinstance(v.get(key), int):
            n = v[key]
    data = v.get("data") or {}
    splits = data.get("splits") if isinstance(data, dict) else None
    if n is None and isinstance(splits, dict) and isinstance(splits.get("test"), int):
        n = splits["test"]
    if n is None and isinstance(v.get("n"), int):
        n = v["n"]
    cm = v.get("confusion_matrix")
    if n is None and isinstance(cm, dict) and cm.get("rows_gold_cols_pred"):
        n = sum(sum(r) for r in cm["rows_gold_cols_pred"])
    v["n_test"] = n
    return v


# ------------------------------------------------------------------------------ endpoint evaluations
# A prompting / api-finetune candidate with `endpoint:` is measured like a pilot (tunewise.endpoint):
# same split, same record shape, same `pilots` dict; the responses are cached in OUT/.cache.

def endpoint_candidates(plan: Any) -> list[Any]:
    return [c for c in plan.candidates if c.kind in ("prompting", "api-finetune") and getattr(c, "endpoint", None)]


def check_endpoint_keys(lp: LoadedPlan) -> None:
    """Every endpoint's key variable is set, before anything runs (exit 2 at the plan line)."""
    import os

    problems = []
    for c in endpoint_candidates(lp.plan):
        var = c.endpoint.api_key_env
        if var and not (os.environ.get(var) or "").strip():
            problems.append(lp.problem(("candidates", lp.candidate_index(c.id), "endpoint", "api_key_env"),
                                       f"candidate '{c.id}': the API key variable {var} is not set",
                                       f"export {var}=<your key> before `tunewise run`"))
    if problems:
        raise BadInputError("an endpoint's API key is missing from the environment", where=problems[0].where,
                            why=f"{len(problems)} endpoint candidate(s) name an unset variable",
                            fix="Set the variables listed below (keys are read from the environment only)",
                            problems=problems)


def endpoint_inputs(lp: LoadedPlan, c: Any) -> dict[str, Any]:
    from tunewise.endpoint.evaluate import EVAL_VERSION

    d, p, pr = lp.plan.data, lp.plan.pilot, lp.plan.prices
    return {"train": lp.resolve(d.train), "validation": lp.resolve(d.validation), "test": lp.resolve(d.test),
            "columns": d.columns, "format": d.format, "drop_test_overlap": d.drop_test_overlap, "seed": p.seed,
            "max_train_examples": p.max_train_examples,
            "candidate": c.model_dump(exclude={"label", "note", "expected_score"}), "metric": lp.plan.task.metric,
            "prices": {"as_of": pr.as_of, "catalog_file": lp.resolve(pr.catalog_file)}, "version": EVAL_VERSION}


def _endpoint_pricing(lp: LoadedPlan, c: Any) -> Any:
    """Base prices for a prompted model, tuned prices for a fine-tune; unknown (not $0) when the catalog lacks them."""
    from tunewise.endpoint.pricing import Pricing, catalog_pricing, resolve
    from tunewise.runner.checks import load_plan_catalog

    if c.endpoint.free:
        return resolve(free=True)
    kind = "tuned" if c.kind == "api-finetune" else "base"
    try:
        return catalog_pricing(load_plan_catalog(lp), c.provider, c.model, kind, where="")
    except BadInputError as exc:
        return Pricing("unknown", reason=f"{exc.what}{': ' + exc.why if exc.why else ''}; set endpoint.free: true "
                       "for a local server, or add the price with prices.catalog_file")


def run_endpoint_step(lp: LoadedPlan, c: Any, run_dir: Path, cache_path: Path, console: Any) -> dict[str, Any]:
    """Evaluate one endpoint candidate. Options the plan got wrong -> BadInputError at its line; an
    evaluation that could not finish -> 'failed' with the reason (partial results stay in run_dir)."""
    from tunewise.endpoint.evaluate import EvalConfig, run_eval

    d, p, ep = lp.plan.data, lp.plan.pilot, c.endpoint
    i = lp.candidate_index(c.id)
    cfg = EvalConfig(data=lp.resolve(d.train), base_url=ep.base_url, model=ep.model, out_dir=run_dir,
                     api_key_env=ep.api_key_env, prompt=ep.prompt, shots=c.shots if c.kind == "prompting" else 0,
                     validation=lp.resolve(d.validation), test=lp.resolve(d.test), seed=p.seed,
                     max_train_examples=p.max_train_examples, text_field=d.columns.text,
                     label_field=d.columns.label, limit=ep.limit, max_usd=ep.max_usd, concurrency=ep.concurrency,
                     max_tokens=ep.max_tokens, pricing=_endpoint_pricing(lp, c), cache_path=cache_path,
                     metric=lp.plan.task.metric, overwrite=True, drop_test_overlap=d.drop_test_overlap)
    try:
        outcome = run_eval(cfg, console=console)
    except BadInputError as exc:
        def plan_words(text: str | None) -> str | None:
            if text is None:
                return None
            for flag, key in (("--max-usd", "endpoint.max_usd"), ("--limit", "endpoint.limit"),
                              ("--prompt", "endpoint.prompt"), ("--api-key-env", "endpoint.api_key_env")):
                text = text.replace(flag, key)
            return text

        raise BadInputError(f"endpoint candidate '{c.id}' cannot be evaluated: {plan_words(exc.what)}",
                            where=lp.where("candidates", i, "endpoint"), why=plan_words(exc.why),
                            fix=plan_words(exc.fix), problems=exc.problems) from None
    except TunewiseError as exc:  # the eval extra is missing
        return {"status": "skipped", "reason": exc.render(), "candidate": c.id}
    except Exception as exc:  # noqa: BLE001 - one failing evaluation must not lose the other steps' work
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
        return {"status": "failed", "reason": f"{type(exc).__name__}: {exc} (traceback in {run_dir / 'error.txt'})",
                "candidate": c.id}
    out = _json.jsonable(outcome.record)
    if out["status"] == "ok":
        out.update(candidate=c.id)
    else:
        out.update(endpoint_status=out["status"], status="failed", candidate=c.id,
                   reason=f"endpoint evaluation {out['status']}: {out.get('reason')} (partial results in {run_dir}; "
                          "rerun to resume, answered requests are cached)")
    return out
