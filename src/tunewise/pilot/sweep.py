"""Learning-curve sweeps: each (data fraction, seed) point is one job for ``tunewise.scale``.

A job rebuilds the pilot's split from the same files, options and seed (deterministic), takes a
seeded stratified subsample of the training split, trains and scores it on the test split. The
result does not depend on the engine that ran it (process pool, Ray or this process) beyond float
noise from the thread count. Data paths must be readable where the job runs (on a Ray cluster: a
shared file system).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tunewise.pilot.config import PilotConfig

JOB_FN = "tunewise.pilot.sweep:curve_point"


def curve_point(config: dict[str, Any], fraction: float, seed: int, n: int, max_len: int | None,
                headline: str) -> dict[str, Any]:
    """Train on ``n`` examples of the split (seed ``seed``) and return the test score with the
    per-item values the curve's bootstrap resamples."""
    from tunewise.pilot import learning_curve, models, splits
    from tunewise.pilot import fit as F
    from tunewise.pilot import run as R

    cfg = PilotConfig(**{**config, "progress": False, "executor": "inline"})
    sp = R._splits(cfg)
    resolved = models.resolve(cfg.model)
    device = R._runtime(cfg, set_threads=False)
    point: dict[str, Any] = {"fraction": fraction, "seed": seed, "n": n}
    sub = splits.subsample(sp.train, n, seed, sp.task)
    if sp.task == "classification" and len({e.label for e in sub}) < len(sp.labels):
        return {**point, "skipped": "a class is missing from this subsample"}
    fitted = F.fit(resolved.arch, sub, sp.labels, cfg, seed, resolved=resolved, device=device, progress=False,
                    label=f"curve {fraction:g} seed {seed}", task=sp.task, max_len=max_len)
    preds, _ = fitted.predict(sp.test)
    values = item_values(preds, sp.test, sp.labels, sp.task)
    gold = [sp.labels.index(e.label) for e in sp.test] if sp.task == "classification" else []  # type: ignore[arg-type]
    score = learning_curve.point_score(gold, values, headline, len(sp.labels) if sp.task == "classification" else None)
    # the point's interval comes from the curve's bootstrap over the same test items (run._learning_curve)
    return {**point, "score": round(score, 6), "item_values": values}


def item_values(preds: list[str], test: list[Any], labels: list[str], task: str) -> list[float]:
    """What the learning curve's bootstrap needs per test item, in test order: the predicted label's
    index (classification; len(labels) for a prediction outside the set) or the item's token F1."""
    if task == "classification":
        index = {lab: i for i, lab in enumerate(labels)}
        return [index.get(p, len(labels)) for p in preds]
    from tunewise.pilot.metrics import token_f1

    return [token_f1(p, e.target or "") for p, e in zip(preds, test)]


def run_points(cfg: PilotConfig, todo: list[tuple[float, int, int]], *, max_len: int | None, headline: str,
               on_point: Callable[[dict[str, Any]], None] | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run the (fraction, seed, n) points on ``cfg.executor``; returns (results, failures)."""
    from tunewise.scale import Job, Resources, run_jobs

    if not todo:
        return [], []
    config = cfg.to_dict()
    causal = cfg.model == "smollm2"
    gpus = 1.0 if cfg.device.startswith("cuda") else 0.0
    res = Resources(cpus=1.0, gpus=gpus, memory_mb=4500 if causal else 1500)
    jobs = [Job(f"fraction={frac:g} seed={seed}", JOB_FN,
                {"config": config, "fraction": frac, "seed": seed, "n": n, "max_len": max_len, "headline": headline},
                res) for frac, seed, n in todo]
    spec = {j.key: (frac, seed, n) for j, (frac, seed, n) in zip(jobs, todo)}
    failed: list[dict[str, Any]] = []

    def done(o: Any) -> None:
        frac, seed, n = spec[o.key]
        p = o.result if o.ok else {"fraction": frac, "seed": seed, "n": n, "error": o.error, "attempts": o.attempts}
        if not o.ok:
            failed.append(p)
        if on_point:
            on_point(p)

    outcomes = run_jobs(jobs, cfg.executor, max_workers=cfg.workers, ray_address=cfg.ray_address, on_done=done)
    return [o.result for o in outcomes if o.ok], failed
