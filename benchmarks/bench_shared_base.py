"""Several LoRA runs on one shared base (what `tunewise serve RUN RUN ...` does) against loading each
run's merged copy on its own.

Baseline: ``load_predictor(run)`` per run (the merged ``model/`` copy, one full set of weights each).
Measured: ``load_predictor(run, bases=SharedBases())`` (the base once, each run a peft adapter).
Figures: weight memory (distinct parameter storages, MB), load time, and predict latency for one
text and for a batch of 32 real Rotten Tomatoes snippets, alternating rounds so drift hits both.
``TUNEWISE_BENCH_SHARED_RUNS`` (default 3 MiniLM LoRA runs) and ``TUNEWISE_BENCH_SHARED_ROUNDS`` (default 20).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "out"


def run_dirs(n: int) -> list[Path]:
    """``n`` MiniLM LoRA runs on different Rotten Tomatoes samples, built once under benchmarks/out."""
    from tunewise.data.bundled import export
    from tunewise.pilot import PilotConfig, run_pilot

    out = []
    for seed in range(n):
        run = OUT / f"shared-lora-{seed}"
        if not (run / "COMPLETE").is_file():
            with tempfile.TemporaryDirectory() as tmp:
                data, _ = export("rotten-tomatoes", Path(tmp) / "train.jsonl", limit=160, seed=seed)
                run_pilot(PilotConfig(data=data, model="minilm", method="lora", out_dir=run, overwrite=True, seed=seed,
                                      epochs=1, progress=False, run_baseline=False, latency_n=3, batch_sizes=(1,)))
        out.append(run)
    return out


def _timed(fn) -> float:  # noqa: ANN001
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    import torch

    from tunewise.data.bundled import sample_rows
    from tunewise.pilot import load_predictor
    from tunewise.pilot.shared_base import SharedBases, unique_weight_bytes

    OUT.mkdir(exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    n = int(os.environ.get("TUNEWISE_BENCH_SHARED_RUNS", "3"))
    rounds = int(os.environ.get("TUNEWISE_BENCH_SHARED_ROUNDS", "20"))
    runs = run_dirs(n)
    texts = [r["text"] for r in sample_rows("rotten-tomatoes", limit=64, seed=9)]

    t0 = time.perf_counter()
    apart = [load_predictor(r) for r in runs]
    load_apart = time.perf_counter() - t0
    bases = SharedBases()
    t0 = time.perf_counter()
    shared = [load_predictor(r, bases=bases) for r in runs]
    load_shared = time.perf_counter() - t0
    mb_apart = unique_weight_bytes([p._model for p in apart]) / 1e6
    mb_shared = unique_weight_bytes([g.model for g in bases.groups()]) / 1e6

    lat: dict[str, list[float]] = {k: [] for k in ("apart_1", "shared_1", "apart_32", "shared_32")}
    for i in range(rounds):
        k = i % n
        one, batch = [texts[i % len(texts)]], texts[:32]
        lat["apart_1"].append(_timed(lambda: apart[k].predict(one)))
        lat["shared_1"].append(_timed(lambda: shared[k].predict(one)))
        lat["apart_32"].append(_timed(lambda: apart[k].predict(batch)))
        lat["shared_32"].append(_timed(lambda: shared[k].predict(batch)))
    med = {k: float(np.median(v)) for k, v in lat.items()}
    res = {"runs": n, "rounds": rounds, "weights_mb_apart": mb_apart, "weights_mb_shared": mb_shared,
           "memory_ratio": mb_shared / mb_apart, "load_s_apart": load_apart, "load_s_shared": load_shared,
           **{f"p50_ms_{k}": v for k, v in med.items()},
           "latency_ratio_1": med["shared_1"] / med["apart_1"], "latency_ratio_32": med["shared_32"] / med["apart_32"]}
    print(f"{n} MiniLM LoRA runs, {rounds} alternating rounds on this CPU (medians):")
    print(f"  weights in memory   apart (baseline) {mb_apart:8.1f} MB   shared {mb_shared:8.1f} MB   "
          f"= {res['memory_ratio']:.2f}x")
    print(f"  load time           apart (baseline) {load_apart:8.2f} s    shared {load_shared:8.2f} s")
    for size in (1, 32):
        print(f"  predict {size:>2} text(s)  apart (baseline) {med[f'apart_{size}']:8.2f} ms   shared "
              f"{med[f'shared_{size}']:8.2f} ms = {res[f'latency_ratio_{size}']:.2f}x (unmerged adapter)")
    (OUT / "shared_base.json").write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
