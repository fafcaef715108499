"""`tunewise run PLAN --out DIR`: audit -> pilots -> estimates -> decision -> report.

Steps whose inputs (files by content, settings) did not change are reused from ``DIR/.cache`` and
the terminal says so; changing only the traffic recomputes only the estimates (and the cheap decision
and report that follow from them).
"""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from rich.console import Console

from tunewise import _json
from tunewise.plan.loader import LoadedPlan, load_plan
from tunewise.plan.schema import LocalCandidate
from tunewise.runner import decide, narrative, steps
from tunewise.runner.cache import StepCache, step_key

REPORT_SCHEMA_VERSION = 1


@dataclass
class StepRecord:
    name: str
    key: str
    cached: bool
    seconds: float
    status: str = "ok"
    detail: str = ""


@dataclass
class RunOutcome:
    out_dir: Path
    report: dict[str, Any]
    paths: dict[str, Path]
    steps: list[StepRecord] = field(default_factory=list)

    @property
    def all_cached(self) -> bool:
        return all(s.cached for s in self.steps)

    @property
    def failed(self) -> list[StepRecord]:
        return [s for s in self.steps if s.status == "failed"]


def validate_plan(plan_path: Path) -> LoadedPlan:
    """Load the plan and check every name against the catalog (exit 2 with plan lines on problems)."""
    from tunewise.runner.checks import catalog_problems

    return load_plan(plan_path, catalog_check=catalog_problems)


class _Steps:
    """Runs cached steps and prints one line per step."""

    def __init__(self, out_dir: Path, console: Console, total: int) -> None:
        self.cache = StepCache(out_dir / ".cache")
        self.console = console
        self.records: list[StepRecord] = []
        self.total = total

    def run(self, name: str, inputs: dict[str, Any], compute: Callable[[], dict[str, Any]], *,
            spinner: bool = True, valid: Callable[[dict[str, Any]], bool] = lambda r: True,
            describe: Callable[[dict[str, Any]], str] = lambda r: "") -> dict[str, Any]:
        key = step_key(name, inputs)
        n = len(self.records) + 1
        prefix = f"[{n}/{self.total}] {name}"
        cached = self.cache.get(name, key)
        if cached is not None and valid(cached):
            rec = StepRecord(name, key, True, 0.0, cached.get("status", "ok"), describe(cached))
            self.records.append(rec)
            self.console.print(f"{prefix}: [green]reused from cache[/] (key {key[:12]}) {rec.detail}",
                               highlight=False)
            return cached
        self.console.print(f"{prefix}: computing …", highlight=False)
        t0 = time.perf_counter()
        if spinner:
            with self.console.status(f"{name} …"):
                value = compute()
        else:
            value = compute()
        dt = time.perf_counter() - t0
        status = value.get("status", "ok")
        if status == "ok":
            self.cache.put(name, key, value)  # failures are not cached: a rerun tries again
        rec = StepRecord(name, key, False, round(dt, 2), status, describe(value))
        self.records.append(rec)
        colour = {"ok": "green", "skipped": "yellow"}.get(status, "red")
        self.console.print(f"{prefix}: [{colour}]{'done' if status == 'ok' else status}[/] in {dt:.1f} s "
                           f"{rec.detail}", highlight=False)
        return value


    def run_jobs(self, items: list[tuple[str, dict[str, Any], Any]], *, executor: str, workers: int | None,
                 ray_address: str | None, valid: Callable[[dict[str, Any]], bool],
                 describe: Callable[[dict[str, Any]], str]) -> dict[str, dict[str, Any]]:
        """Like ``run`` for several steps at once: cached ones are reused, the rest run together as
        ``tunewise.scale`` jobs; one line per step as each finishes. Returns name -> record."""
        from tunewise.scale import run_jobs

        first = len(self.records)
        slots: list[StepRecord | None] = [None] * len(items)
        values: dict[str, dict[str, Any]] = {}
        todo = []
        for i, (name, inputs, job) in enumerate(items):
            key = step_key(name, inputs)
            prefix = f"[{first + i + 1}/{self.total}] {name}"
            cached = self.cache.get(name, key)
            if cached is not None and valid(cached):
                slots[i] = StepRecord(name, key, True, 0.0, cached.get("status", "ok"), describe(cached))
                values[name] = cached
                self.console.print(f"{prefix}: [green]reused from cache[/] (key {key[:12]}) {slots[i].detail}",
                                   highlight=False)
            else:
                todo.append((i, name, key, job, prefix))
        if todo:
            where = {"local": f"a local process pool ({workers or 'one per core'})", "ray": "Ray"}.get(executor, executor)
            for _, name, _, _, prefix in todo:
                self.console.print(f"{prefix}: computing … (a job on {where})", highlight=False)
            running = {name for _, name, _, _, _ in todo}
            by_key = {job.key: (i, name, key, prefix) for i, name, key, job, prefix in todo}
            with self.console.status(f"running {len(running)} job(s): {', '.join(sorted(running))}") as status:
                def finished(o: Any) -> None:
                    i, name, key, prefix = by_key[o.key]
                    value = o.result if o.ok else {"status": "failed", "reason": f"{o.error} ({o.attempts} attempts)"}
                    st = value.get("status", "ok")
                    if st == "ok":
                        self.cache.put(name, key, value)
                    slots[i] = StepRecord(name, key, False, round(o.seconds, 2), st, describe(value))
                    values[name] = value
                    running.discard(name)
                    colour = {"ok": "green", "skipped": "yellow"}.get(st, "red")
                    self.console.print(f"{prefix}: [{colour}]{'done' if st == 'ok' else st}[/] in {o.seconds:.1f} s "
                                       f"{slots[i].detail}", highlight=False)
                    if running:
                        status.update(f"running {len(running)} job(s): {', '.join(sorted(running))}")

                run_jobs([job for _, _, _, job, _ in todo], executor, max_workers=workers, ray_address=ray_address,
                         on_done=finished)
        self.records.extend(r for r in slots if r is not None)
        return values


def run_plan(plan_path: Path | str, out_dir: Path | str, *, console: Console | None = None, executor: str = "local",
             workers: int | None = None, ray_address: str | None = None) -> RunOutcome:
    """Run a plan end to end and write report.html, report.json and summary.md into ``out_dir``.

    Local pilots that are not cached run as jobs on ``executor``: ``local`` (a process pool sized to
    the machine, or ``workers``), ``ray`` (Ray tasks, a local Ray or ``ray_address``) or ``inline``
    (this process, one after another, with a live training progress bar).
    """
    from tunewise.scale.executor import EXECUTORS

    if executor not in EXECUTORS:
        from tunewise.errors import BadInputError, did_you_mean

        raise BadInputError(f"unknown --executor '{executor}'", fix=did_you_mean(executor, EXECUTORS))
    console = console or Console(stderr=True)
    plan_path, out_dir = Path(plan_path), Path(out_dir)
    lp = validate_plan(plan_path)
    from tunewise.runner import estimates as est_mod
    plan = lp.plan
    for w in lp.warnings:
        console.print(f"[yellow]warning:[/] {w.render()}", highlight=False, markup=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    local = [c for c in plan.candidates if isinstance(c, LocalCandidate)]
    remote = steps.endpoint_candidates(plan)
    steps.check_endpoint_keys(lp)
    runner = _Steps(out_dir, console, total=2 + len(local) + len(remote))
    console.print(f"[bold]tunewise run[/] {plan_path} → {out_dir}  ({len(plan.candidates)} candidates, "
                  f"{len(local)} local pilots" + (f", {len(remote)} endpoint evaluations" if remote else "") + ")",
                  highlight=False)

    a_inputs = steps.audit_inputs(lp)
    audit = runner.run("audit", a_inputs, lambda: steps.run_audit(lp),
                       describe=lambda r: f"({r.get('examples', '?')} examples)")
    audit_key = runner.records[-1].key

    pilots: dict[str, dict[str, Any]] = {}
    describe = _pilot_line(plan.task.metric)
    for c in remote:  # endpoint evaluations: measured like pilots, recorded in the same dict
        rec = runner.run(f"endpoint:{c.id}", steps.endpoint_inputs(lp, c),
                         lambda c=c: steps.run_endpoint_step(lp, c, out_dir / "pilots" / c.id,
                                                             out_dir / ".cache" / "responses.sqlite", console),
                         spinner=False, valid=steps.pilot_complete, describe=describe)
        pilots[c.id] = steps.pilot_view(rec)
    if executor == "inline":
        for c in local:
            run_dir = out_dir / "pilots" / c.id
            rec = runner.run(f"pilot:{c.id}", steps.pilot_inputs(lp, c),
                             lambda c=c, run_dir=run_dir: steps.run_pilot_step(lp, c, run_dir),
                             spinner=False, valid=steps.pilot_complete, describe=describe)
            pilots[c.id] = steps.pilot_view(rec)
    else:
        from tunewise.scale import Job, Resources

        jobs = [(f"pilot:{c.id}", steps.pilot_inputs(lp, c),
                 Job(f"pilot:{c.id}", steps.PILOT_JOB,
                     {"plan": str(plan_path.resolve()), "candidate": c.id,
                      "run_dir": str((out_dir / "pilots" / c.id).resolve())},
                     Resources(cpus=1.0, memory_mb=4500 if c.model == "smollm2" else 1500)))
                for c in local]
        done = runner.run_jobs(jobs, executor=executor, workers=workers, ray_address=ray_address,
                               valid=steps.pilot_complete, describe=describe)
        for c in local:
            rec = done[f"pilot:{c.id}"]
            if rec.get("status") == "bad-input":
                from tunewise.errors import BadInputError

                raise BadInputError(f"pilot '{c.id}' cannot run: {rec['what']}", where=rec["where"],
                                    why=rec["why"], fix=rec["fix"], problems=rec["problems"])
            pilots[c.id] = steps.pilot_view(rec)

    e_inputs = est_mod.estimate_inputs(lp, audit_key, pilots, audit)
    estimates = runner.run("estimates", e_inputs, lambda: est_mod.estimate_all(lp, audit, pilots),
                           describe=lambda r: f"({sum(1 for v in r.get('candidates', {}).values() if v.get('status') == 'ok')} priced)")

    report = assemble(lp, out_dir, audit, pilots, estimates, runner.records)
    with console.status("writing the report …"):
        from tunewise import report as report_mod

        from tunewise.rights.croissant import write_croissant

        _json.write(out_dir / "report.json", report)
        paths = {"json": out_dir / "report.json", **report_mod.write(report, out_dir),
                 "croissant": write_croissant(audit, out_dir / "croissant.json")}
    return RunOutcome(out_dir, report, paths, runner.records)


def _pilot_line(metric: str) -> Callable[[dict[str, Any]], str]:
    def describe(r: dict[str, Any]) -> str:
        if r.get("status") != "ok":
            return f"({r.get('reason', '')})"
        m = (r.get("metrics") or {}).get(metric) or {}
        if m.get("value") is None:
            return ""
        lo, hi = m.get("ci_low"), m.get("ci_high")
        ci = f", 95% CI {lo:.3f}–{hi:.3f}" if lo is not None and hi is not None else ""
        return f"({metric} {m['value']:.3f}{ci}, measured)"
    return describe


def assemble(lp: LoadedPlan, out_dir: Path, audit: dict[str, Any], pilots: dict[str, dict[str, Any]],
             estimates: dict[str, Any], records: list[StepRecord]) -> dict[str, Any]:
    """Everything the report shows, as one JSON-ready dict (also saved as report.json)."""
    from tunewise import __version__

    plan = lp.plan
    decision = decide.decide(plan, pilots, estimates)
    sens = decide.sensitivity(plan, pilots, decision, estimates)
    from tunewise.rights.plan import findings as rights_findings, plan_rights
    from tunewise.runner.checks import load_plan_catalog

    from tunewise.rights import regulatory

    catalog = load_plan_catalog(lp)
    rights = plan_rights(plan, catalog)
    rights["regulatory"] = regulatory.plan_flags(plan, catalog, audit, estimates, pilots)
    found = (narrative.findings(plan, audit, pilots, decision, estimates) + rights_findings(rights)
             + regulatory.findings(rights["regulatory"]))
    summary = narrative.executive_summary(plan, decision, found, sens)
    return _json.jsonable({
        "schema_version": REPORT_SCHEMA_VERSION,
        "meta": {"plan_name": plan.name, "plan_file": str(lp.path), "out_dir": str(out_dir),
                 "generated_at": datetime.now().isoformat(timespec="seconds"), "tunewise_version": __version__,
                 "machine": _machine(pilots)},
        "plan": plan.model_dump(mode="json"),
        "summary": summary,
        "findings": found,
        "decision": decision,
        "sensitivity": sens,
        "estimates": estimates,
        "pilots": pilots,
        "audit": audit,
        "rights": rights,
        "assumptions": _assumptions(lp, audit, estimates),
        "monitoring": narrative.monitoring(plan, audit, pilots, decision),
        "steps": [asdict(r) for r in records],
        "warnings": [w.as_dict() for w in lp.warnings],
    })


def _machine(pilots: dict[str, dict[str, Any]]) -> str:
    for p in pilots.values():
        hw = p.get("hardware")
        if isinstance(hw, dict) and hw:
            parts = [str(hw.get(k)) for k in ("device", "cpu", "threads", "torch") if hw.get(k)]
            if parts:
                return ", ".join(parts)
    return f"{platform.machine()} {platform.system()}, {_cpus()} CPU cores"


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _assumptions(lp: LoadedPlan, audit: dict[str, Any], estimates: dict[str, Any]) -> list[dict[str, Any]]:
    plan = lp.plan
    t = plan.traffic
    out = [
        {"name": "requests per month (month 1)", "value": f"{t.requests_per_month:,}", "provenance": "user-given"},
        {"name": "traffic growth", "value": f"{t.growth_per_month * 100}% per month, compounded", "provenance": "user-given"},
        {"name": "horizon", "value": f"{plan.horizon_months} months", "provenance": "user-given"},
        {"name": "retrains per year", "value": str(plan.retrains_per_year), "provenance": "user-given"},
    ]
    for key, label in (("input_tokens_per_request", "input tokens per request"),
                       ("output_tokens_per_request", "output tokens per request")):
        v = getattr(t, key)
        if v is not None:
            out.append({"name": label, "value": str(v), "provenance": "user-given"})
    for a in estimates.get("assumptions", []):
        out.append(a if isinstance(a, dict) else {"name": str(a), "value": "", "provenance": "estimated"})
    if plan.task.target is not None:
        out.append({"name": f"good-enough {plan.task.metric}", "value": str(plan.task.target), "provenance": "user-given"})
    return out
