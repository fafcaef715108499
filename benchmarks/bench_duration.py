"""Training-duration prediction: the pilot's predictor against the old first-steps predictor, on real
MiniLM-L6 full fine-tunes of the bundled data sets (short texts and long ones).

Cases: Rotten Tomatoes snippets (short, max length 64), BBC News articles at max length 256, and
BBC News at 512 (long: attention's share of the work grows with the length). For each case and seed
two real training runs alternate:

- baseline ``old first-steps``: the batch plan as it was (length-grouped, shuffled), duration
  predicted after the first 5% of steps (at least 5) by ``loop.predict_duration_first_steps`` (a
  least-squares line in padded tokens);
- ``tunewise``: the current plan (its first 10% of steps, at least 8, a length-stratified sample of
  the first epoch) and ``loop.predict_duration`` (warm-up step excluded, seconds per unit of work,
  work = padded tokens x (1 + layers x hidden / N x length)).

Reported per run: predicted vs actual wall seconds of the training loop, error %. The same two
predictors are also scored on the steps' process CPU time, which a busy shared machine disturbs less
than wall time (it separates the predictor's error from the machine's). Results:
benchmarks/out/duration.json. ``TUNEWISE_BENCH_DURATION_SEEDS`` (default "0,1") picks the seeds.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
CASES = [  # (name, data set, examples, max length, epochs)
    ("rotten-tomatoes, len 64", "rotten-tomatoes", 1000, 64, 2.0),
    ("bbc-news, len 256", "bbc-news", 240, 256, 2.0),
    ("bbc-news (long), len 512", "bbc-news", 320, 512, 1.0),
]


def _old_plan(lengths: list[int], batch_size: int, seed: int, epochs: float) -> list[list[int]]:
    """The batch plan before the stratified head (the same epochs, in shuffled order)."""
    from tunewise.pilot import batching

    steps: list[list[int]] = []
    full = int(math.floor(epochs))
    for e in range(full):
        steps.extend(batching.plan_epoch(lengths, batch_size, seed, e))
    rest = epochs - full
    if rest > 1e-9:
        last = batching.plan_epoch(lengths, batch_size, seed, full)
        steps.extend(last[: max(1, round(len(last) * rest))])
    return steps


def _run(case: tuple, seed: int, which: str) -> dict:
    import torch

    from tunewise.data.bundled import sample_rows
    from tunewise.pilot import batching, loop, models
    from tunewise.pilot import train_classifier as TC

    label, name, n, max_len, epochs = case
    rows = sample_rows(name, limit=n, seed=seed)
    labels = sorted({r["label"] for r in rows})
    b = TC.build(models.resolve("minilm").path, labels, "full", seed=seed)
    ids = TC.encode(b.tokenizer, [r["text"] for r in rows], max_len)
    lengths = [len(s) for s in ids]
    plan = batching.plan(lengths, 16, seed, epochs) if which == "tunewise" else _old_plan(lengths, 16, seed, epochs)
    pad = b.tokenizer.pad_token_id or 0
    batches = []
    for st in plan:
        bb = batching.pad_batch([ids[i] for i in st], pad)
        bb["labels"] = torch.tensor([labels.index(rows[i]["label"]) for i in st], dtype=torch.long)
        batches.append(bb)
    total = len(batches)
    k_old = min(total, max(5, int(math.ceil(0.05 * total))))
    k_new = batching.prediction_steps(total)
    torch.manual_seed(seed)
    stats = loop.train(b.model, batches, lr=2e-4, warmup_ratio=0.1, weight_decay=0.01, device="cpu",
                       progress=False, label=label, predict_after=k_new)
    padded = [int(x["input_ids"].numel()) for x in batches]
    work = loop.step_work(padded, [int(x["input_ids"].shape[-1]) for x in batches], loop.attention_ratio(b.model))

    def score(times: list[float]) -> dict:
        actual = float(sum(times))
        old = loop.predict_duration_first_steps(times[:k_old], padded[:k_old], padded)
        new = loop.predict_duration(times[:k_new], work)
        return {"actual_s": round(actual, 3), "old_predicted_s": round(old, 3), "new_predicted_s": round(new, 3),
                "old_error_pct": round(100 * (old - actual) / actual, 1),
                "new_error_pct": round(100 * (new - actual) / actual, 1)}

    return {"case": label, "seed": seed, "plan": which, "steps": total, "k_old": k_old, "k_new": k_new,
            "load_avg_1m": round(os.getloadavg()[0], 2), "wall": score(stats.step_seconds),
            "cpu": score(stats.step_cpu_seconds)}


def main() -> None:
    import torch

    OUT.mkdir(exist_ok=True)
    seeds = [int(s) for s in os.environ.get("TUNEWISE_BENCH_DURATION_SEEDS", "0,1").split(",") if s.strip()]
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    torch.set_num_threads(threads)
    runs = []
    for case in CASES:
        for seed in seeds:
            for which in ("old", "tunewise"):  # alternate so that drift on the box hits both
                r = _run(case, seed, which)
                runs.append(r)
                print(f"{r['case']:<28} seed {seed} {which:<8} steps {r['steps']:>4} load {r['load_avg_1m']:>4}: "
                      f"wall {r['wall']['actual_s']:>7.1f} s, old@{r['k_old']} {r['wall']['old_error_pct']:+6.1f}%, "
                      f"new@{r['k_new']} {r['wall']['new_error_pct']:+6.1f}%  (cpu time: old "
                      f"{r['cpu']['old_error_pct']:+.1f}%, new {r['cpu']['new_error_pct']:+.1f}%)", flush=True)
    print(f"\n{'case':<28} {'baseline: old plan + first-steps predictor':>44} {'tunewise plan + predictor':>28}")
    summary = {}
    for case in CASES:
        old = [r["wall"]["old_error_pct"] for r in runs if r["case"] == case[0] and r["plan"] == "old"]
        new = [r["wall"]["new_error_pct"] for r in runs if r["case"] == case[0] and r["plan"] == "tunewise"]
        old_cpu = [r["cpu"]["old_error_pct"] for r in runs if r["case"] == case[0] and r["plan"] == "old"]
        new_cpu = [r["cpu"]["new_error_pct"] for r in runs if r["case"] == case[0] and r["plan"] == "tunewise"]
        summary[case[0]] = {"old_wall": old, "new_wall": new, "old_cpu": old_cpu, "new_cpu": new_cpu}
        print(f"{case[0]:<28} {', '.join(f'{e:+.1f}%' for e in old):>44} {', '.join(f'{e:+.1f}%' for e in new):>28}")
    worst_old = max(abs(e) for s in summary.values() for e in s["old_wall"])
    worst_new = max(abs(e) for s in summary.values() for e in s["new_wall"])
    print(f"worst |error| (wall): baseline {worst_old:.1f}%, tunewise {worst_new:.1f}% (target <= 10%); "
          f"ratio {worst_old / max(worst_new, 1e-9):.2f}x")
    (OUT / "duration.json").write_text(json.dumps({"threads": threads, "seeds": seeds, "runs": runs,
                                                   "summary": summary}, indent=2))


if __name__ == "__main__":
    main()
