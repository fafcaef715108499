"""run_pilot: split -> train -> evaluate -> floor -> latency -> learning curve -> calibration -> run dir.

The run directory is written into a hidden temporary sibling and renamed into place only after
COMPLETE is written, so a failed run never leaves a directory that looks complete.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from tunewise.data import Columns, Example
from tunewise.errors import BadInputError, did_you_mean
from tunewise.pilot import fit as F
from tunewise.pilot import metrics as M
from tunewise.pilot import models, splits
from tunewise.pilot.config import ARCH_METHODS, PilotConfig
from tunewise.pilot.result import SCHEMA_VERSION, PilotResult


# ------------------------------------------------------------------------------------------ runtime

def _runtime(cfg: PilotConfig, *, set_threads: bool = True) -> str:
    """Seeds, determinism, thread count (unless a job executor already set it) and the device."""
    import random

    import torch

    if set_threads:
        from tunewise.scale.executor import JOB_THREADS_ENV

        # --threads, else this job's share when an executor runs it (so that two pilots on a 2-core
        # pool do not each start 2 threads), else every core
        threads = cfg.threads or os.environ.get(JOB_THREADS_ENV) or (
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
        torch.set_num_threads(max(1, int(threads or 1)))
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    if cfg.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise BadInputError("--device cuda was asked for but no CUDA GPU is visible",
                            fix="Use --device auto or --device cpu")
    return cfg.device


def _default_out(cfg: PilotConfig) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    name = Path(cfg.model).name if cfg.model not in models.BUNDLED else cfg.model
    return Path("pilot-runs") / f"{name}-{cfg.method}-{stamp}"


def _prepare_out(out: Path, overwrite: bool) -> None:
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise BadInputError("output directory already exists and is not empty", where=str(out),
                                fix="Choose another --out or pass --overwrite")
        if out.is_dir() and not (out / "COMPLETE").exists() and not (out / "config.json").exists():
            raise BadInputError("refusing to overwrite a directory that is not a pilot run", where=str(out),
                                fix="Choose another --out")


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def _reference_rows(train: list[Example], task: str) -> list[dict[str, Any]]:
    if task == "classification":
        return [{"id": e.id, "text": e.text, "label": e.label} for e in train]
    return [{"id": e.id, "text": e.text, "target": e.target} for e in train]


# --------------------------------------------------------------------------------------- run_pilot

def run_pilot(cfg: PilotConfig) -> PilotResult:
    """Run one pilot; returns its PilotResult (also written to ``cfg.out_dir``/pilot.json)."""
    cfg.validate()
    started = time.perf_counter()
    data_splits = _splits(cfg)
    resolved = models.resolve(cfg.model)
    allowed = ARCH_METHODS[resolved.arch]
    if cfg.method not in allowed:
        raise BadInputError(f"method '{cfg.method}' does not apply to model '{cfg.model}' ({resolved.arch})",
                            fix=did_you_mean(cfg.method, allowed))
    task = data_splits.task
    if task == "generation" and resolved.arch != "causal":
        raise BadInputError(f"generation data (prompt/completion or chat) needs a causal LM, not '{cfg.model}'",
                            where=str(cfg.data), fix="Use --model smollm2 (or a local causal LM directory)")
    out = cfg.out_dir or _default_out(cfg)
    _prepare_out(out, cfg.overwrite)
    device = _runtime(cfg)
    if resolved.arch == "causal":
        _check_producible(resolved, data_splits, cfg)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        payload = _run_into(tmp, out, cfg, resolved, data_splits, device, started)
        (tmp / "COMPLETE").write_text(datetime.now(timezone.utc).isoformat() + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return PilotResult(payload, out)


def _splits(cfg: PilotConfig) -> splits.Splits:
    """The run's split: the same files, options and seed always give the same split (sweep jobs
    rebuild it this way in their own processes)."""
    return splits.prepare(cfg.data, seed=cfg.seed, validation=cfg.validation, test=cfg.test,
                          val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction,
                          max_train_examples=cfg.max_train_examples,
                          columns=Columns(text=cfg.text_field, label=cfg.label_field),
                          drop_test_overlap=cfg.drop_test_overlap)


def _check_producible(resolved: models.ResolvedModel, sp: splits.Splits, cfg: PilotConfig) -> None:
    from tunewise.pilot import train_causal as TCa

    tok = TCa.load_tokenizer(resolved.path)
    if sp.task == "classification":
        TCa.check_targets(tok, [(lab, None) for lab in sp.labels], cfg.max_new_tokens, sp.task)
    else:
        TCa.check_targets(tok, [(e.target or "", e) for e in sp.train + sp.val + sp.test], cfg.max_new_tokens,
                          sp.task)


def _run_into(tmp: Path, out: Path, cfg: PilotConfig, resolved: models.ResolvedModel, sp: splits.Splits,
              device: str, started: float) -> dict[str, Any]:
    from tunewise.pilot import calibration, latency

    task, labels, arch = sp.task, sp.labels, resolved.arch
    kw = {"resolved": resolved, "device": device, "progress": cfg.progress, "task": task}
    fitted = F.fit(arch, sp.train, labels, cfg, cfg.seed, label=f"{cfg.model} {cfg.method}", **kw)
    headline = F.headline_metric(task, cfg)
    ev_test = F.evaluate(fitted, sp.test, cfg)
    ev_val = F.evaluate(fitted, sp.val, cfg) if sp.val else None
    serving = fitted.impl["save"](tmp)
    del serving
    rows = ev_test.pop("rows")
    _write_jsonl(tmp / "predictions.jsonl", rows)
    _write_jsonl(tmp / "reference.jsonl", _reference_rows(sp.train, task))

    # latency and inference throughput on the serving copy (LoRA merged)
    serve_in = fitted.serve_inputs(sp.test)
    heavy = arch == "causal" and task == "generation"
    lat = latency.single_request(fitted.serve_call, serve_in, n=min(cfg.latency_n, 10) if heavy else cfg.latency_n,
                                 warmup=2 if heavy else 5)
    batch_sizes = tuple(b for b in cfg.batch_sizes if b <= 8) if heavy else cfg.batch_sizes
    inf = latency.throughput(fitted.serve_call, serve_in, batch_sizes or (1,), max_items=16 if heavy else 256)

    stats = fitted.stats.to_dict() if fitted.stats is not None else None
    hw = calibration.hardware(device)
    throughput = {"inference": {"by_batch_size": inf, "unit": "examples/s", "device_kind": hw["device_kind"],
                                "device": device, "gpu_id": hw.get("gpu_id"), "threads": hw["threads"],
                                "hardware": calibration.describe(hw), "max_length": fitted.max_len or None,
                                "measured_on": "the serving copy (LoRA merged), test-split inputs, one untimed "
                                               "warm-up batch per size"}}
    if stats:
        throughput["train"] = {"examples_per_s": stats["examples_per_s"], "tokens_per_s": stats["tokens_per_s"],
                               "padded_tokens_per_s": round(stats["padded_tokens"] / stats["seconds"], 1)
                               if stats["seconds"] else None,
                               "examples": stats["examples"], "seconds": stats["seconds"],
                               "unit": "training examples/s and non-padding tokens/s, measured over the whole run"}

    calib = None
    if arch != "sklearn" and cfg.method in ("full", "lora", "head") and stats and stats["tokens_per_s"]:
        calib = calibration.calibration(family=resolved.family, params=fitted.total, method=cfg.method,
                                        tokens_per_s=stats["tokens_per_s"], device=device, hw=hw,
                                        train_dtype=stats.get("dtype", "float32"),
                                        padded_tokens_per_s=throughput["train"]["padded_tokens_per_s"])

    floor = None
    if task == "classification" and arch != "sklearn" and cfg.run_baseline:
        floor = _floor(sp, cfg, rows, headline)

    curve = None
    if cfg.fractions:
        curve = _learning_curve(arch, sp, cfg, kw, fitted, ev_test, rows, headline)

    config = {"schema_version": SCHEMA_VERSION, "pilot": cfg.to_dict(), "task": task, "labels": labels,
              "model": {"name": resolved.name, "arch": arch, "family": resolved.family,
                        "source_path": str(resolved.path) if resolved.path else None, "note": resolved.note},
              "method": cfg.method, "max_length": fitted.max_len, "prompt": fitted.impl.get("prompt"),
              "serving": {"dir": "model", "format": "joblib" if arch == "sklearn" else "huggingface",
                          "merged_lora": cfg.method == "lora"}}
    (tmp / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    payload: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "run_dir": str(out),
        "task": task,
        "model": resolved.name,
        "model_family": resolved.family,
        "model_note": resolved.note,
        "method": cfg.method,
        "labels": labels,
        "trainable_params": int(fitted.trainable),
        "total_params": int(fitted.total),
        "seed": cfg.seed,
        "data": {"path": str(cfg.data), "splits": sp.sizes(), "split": sp.how,
                 "duplicates": sp.how.get("duplicates"), "overlap": sp.how.get("overlap") or {}},
        "max_length": {"tokens": fitted.max_len,
                       "source": f"--max-length {cfg.max_length}" if cfg.max_length else
                       "p95 of training token lengths (model tokenizer), rounded up to 8, capped"
                       if arch != "sklearn" else "n/a (bag of words)"},
        "headline_metric": headline,
        "metrics": ev_test["metrics"],
        "metrics_source": f"held-out test split, n={ev_test['n']}",
        "validation_metrics": ev_val["metrics"] if ev_val else None,
        "per_class": ev_test.get("per_class"),
        "confusion_matrix": ev_test.get("confusion_matrix"),
        "latency_ms": lat,
        "throughput": throughput,
        "training": stats,
        "duration": (stats or {}).get("duration") or None,
        "learning_curve": curve,
        "baseline": floor,
        "calibration": calib,
        "hardware": hw,
        "scorer": (fitted.impl.get("prompt") or {}).get("scorer"),
        "predictions": str(out / "predictions.jsonl"),
        "reference": str(out / "reference.jsonl"),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": None,
    }
    payload["wall_seconds"] = round(time.perf_counter() - started, 2)
    (tmp / "pilot.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    from tunewise.rights import modelcard

    modelcard.write(tmp, payload, cfg.extra)  # README.md: Hugging Face model card from the measured payload
    return payload


def _floor(sp: splits.Splits, cfg: PilotConfig, rows: list[dict[str, Any]], headline: str) -> dict[str, Any]:
    """The TF-IDF + LR floor on the same split, and a paired test of this run against it."""
    from tunewise.pilot.compare import compare_predictions

    floor = F.fit_floor(sp.train, sp.labels, cfg, cfg.seed)
    ev = F.evaluate(floor, sp.test, cfg)
    floor_rows = ev.pop("rows")
    cmp = compare_predictions([r["gold"] for r in rows], [r["prediction"] for r in floor_rows],
                              [r["prediction"] for r in rows], sp.labels, resamples=max(cfg.bootstrap, 10_000),
                              seed=cfg.seed)
    d = cmp["macro_f1_diff_b_minus_a"]
    theirs = ev["metrics"]["macro_f1"]["value"]
    ours = M.classification([sp.labels.index(r["gold"]) for r in rows],
                            [sp.labels.index(r["prediction"]) for r in rows], sp.labels,
                            resamples=1000, seed=cfg.seed)["metrics"]["macro_f1"]["value"]
    if d["ci_low"] > 0:
        verdict = (f"fine-tuning beat the TF-IDF + logistic regression floor: macro-F1 {ours:.3f} vs {theirs:.3f} "
                   f"(+{d['diff']:.3f}, 95% CI [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}], paired bootstrap "
                   f"p={d['p_value']:.3g}; McNemar p={cmp['mcnemar']['p_value']:.3g})")
        beats = True
    elif d["ci_high"] < 0:
        verdict = (f"fine-tuning did NOT beat the TF-IDF + logistic regression floor: the floor is better, "
                   f"macro-F1 {theirs:.3f} vs {ours:.3f} (difference {d['diff']:+.3f}, 95% CI "
                   f"[{d['ci_low']:+.3f}, {d['ci_high']:+.3f}])")
        beats = False
    else:
        verdict = (f"fine-tuning did not clearly beat the TF-IDF + logistic regression floor: macro-F1 {ours:.3f} "
                   f"vs {theirs:.3f} (difference {d['diff']:+.3f}, 95% CI [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}] "
                   f"includes 0; n={cmp['n']} test items)")
        beats = False
    return {"model": "tfidf-logreg", "description": "TF-IDF word 1-2 grams + logistic regression (no fine-tune floor)",
            "metrics": ev["metrics"], "comparison": cmp, "beats_floor": beats, "verdict": verdict}


def _learning_curve(arch: str, sp: splits.Splits, cfg: PilotConfig, kw: dict[str, Any], main: F.Fitted,
                    ev_main: dict[str, Any], rows: list[dict[str, Any]], headline: str) -> dict[str, Any]:
    """Fractions x seeds: the full-data point of the first seed is this run; every other point is a
    job on ``cfg.executor`` (process pool, Ray or inline), retried once, failures reported. The
    interval resamples the test items every point was scored on (and the seeds) and refits."""
    from rich.console import Console

    from tunewise.pilot import learning_curve, sweep

    console = Console(stderr=True)
    n_full = len(sp.train)
    n_seeds = cfg.curve_seeds(arch)
    points: list[dict[str, Any]] = []
    todo: list[tuple[float, int, int]] = []
    for frac in sorted(set(cfg.fractions or ())):
        # the whole training set with the deterministic floor is the same fit whatever the seed
        for s in range(1 if frac >= 1.0 and arch == "sklearn" else n_seeds):
            seed, n = cfg.seed + s, max(2, int(round(frac * n_full)))
            if frac >= 1.0 and s == 0:
                m = ev_main["metrics"][headline]
                points.append({"fraction": frac, "seed": seed, "n": n, "score": m["value"],
                               "item_values": sweep.item_values([r["prediction"] for r in rows], sp.test, sp.labels,
                                                                sp.task)})
            else:
                todo.append((frac, seed, n))

    def shown(p: dict[str, Any]) -> None:
        if not cfg.progress:
            return
        what = f"{headline} {p['score']:.4f}" if "score" in p else p.get("skipped") or f"failed: {p.get('error')}"
        console.print(f"  learning curve: fraction {p['fraction']:g} (n={p['n']}) seed {p['seed']}: {what}",
                      highlight=False)

    if cfg.progress and todo:
        console.print(f"  learning curve: {len(todo)} more training run(s) on the {cfg.executor} executor",
                      highlight=False)
    done, failed = sweep.run_points(cfg, todo, max_len=main.max_len or None, headline=headline, on_point=shown)
    points += [p for p in done if "score" in p]
    points.sort(key=lambda p: (p["fraction"], p["seed"]))
    values = [p.pop("item_values") for p in points]
    boot = None
    if values and sp.task == "classification":
        gold = [sp.labels.index(e.label) for e in sp.test]  # type: ignore[arg-type]
        _, boot = learning_curve.resampled_scores(gold, values, headline, len(sp.labels), resamples=cfg.bootstrap,
                                                  seed=cfg.seed)
    elif values:
        _, boot = learning_curve.resampled_means(values, resamples=cfg.bootstrap, seed=cfg.seed)
    for p, col in zip(points, boot.T if boot is not None else []):
        p["ci_low"], p["ci_high"] = round(float(np.quantile(col, 0.025)), 6), round(float(np.quantile(col, 0.975)), 6)
        p["ci"] = f"percentile bootstrap over the test items, {len(col)} resamples (shared by all points)"
    trivial = None
    if sp.task == "classification":
        gold = [sp.labels.index(e.label) for e in sp.test]  # type: ignore[arg-type]
        common = max(range(len(sp.labels)), key=lambda i: sum(1 for e in sp.train if e.label == sp.labels[i]))
        trivial = learning_curve.point_score(gold, [common] * len(gold), headline, len(sp.labels))
    result = learning_curve.analyse(points, n_full=n_full, target=cfg.target, metric=headline, boot_scores=boot,
                                    resamples=cfg.bootstrap, seed=cfg.seed, trivial_score=trivial)
    result["evaluated_on"] = f"held-out test split, n={len(sp.test)}"
    result["executor"] = cfg.executor
    result["seeds"] = n_seeds
    skipped = [p for p in done if "skipped" in p]
    if skipped:
        result["skipped_points"] = skipped
    if failed:
        result["failed_points"] = failed
    return result
