"""Pilot training throughput against a plain ``transformers.Trainer`` run, side by side.

Same model (the bundled MiniLM-L6, full fine-tune), same data (1,000 Rotten Tomatoes training
snippets, 300 held-out, exported from the bundled data with a fixed seed), same hyperparameters
(AdamW, lr 2e-4, linear schedule with 10% warm-up, weight decay 0.01, batch 16, 2 epochs, seeds 0-2),
same truncation length (the pilot's choice: the training data's token p95 rounded up to 8), same
thread count. The difference under test is how batches are built:

- baseline ``Trainer, fixed-length padding``: every example padded to that length (tokenizer
  ``padding="max_length"``), the usual notebook recipe;
- ``tunewise pilot``: dynamic padding with length-grouped batches.

Reported: training examples/s of each (training loop only, from the Trainer's own ``train_runtime``
and the pilot's measured loop time), the ratio of the means over 3 seeds, and held-out macro-F1 of
both, mean and standard deviation over the seeds (target: >= 1.5x at equal F1 within 1 point). Also the pilot's own duration prediction (made after its first 10% of
steps, at least 8; see bench_duration.py for the comparison with the old first-5% predictor) against
the actual training time (target within +-10%). Results: benchmarks/out/pilot.json.
Sizes: ``TUNEWISE_BENCH_PILOT_TRAIN`` (default 1000) training examples.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
HP = {"lr": 2e-4, "epochs": 2, "batch_size": 16, "warmup_ratio": 0.1, "weight_decay": 0.01}
SEEDS = (0, 1, 2)


def _data(tmp: Path, n_train: int) -> tuple[Path, Path]:
    from tunewise.data.bundled import sample_rows

    rows = sample_rows("rotten-tomatoes", limit=n_train + 300, seed=11)
    train, test = tmp / "train.jsonl", tmp / "test.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows[:n_train]), encoding="utf-8")
    test.write_text("".join(json.dumps(r) + "\n" for r in rows[n_train:]), encoding="utf-8")
    return train, test


def run_tunewise(train: Path, test: Path, out: Path, seed: int) -> dict:
    from tunewise.pilot import PilotConfig, run_pilot

    d = run_pilot(PilotConfig(data=train, test=test, val_fraction=0.0, model="minilm", method="full",
                              epochs=HP["epochs"], batch_size=HP["batch_size"], learning_rate=HP["lr"],
                              warmup_ratio=HP["warmup_ratio"], weight_decay=HP["weight_decay"], seed=seed,
                              run_baseline=False, latency_n=5, batch_sizes=(1,), progress=False,
                              out_dir=out)).to_dict()
    tr = d["training"]
    return {"examples_per_s": tr["examples_per_s"], "train_seconds": tr["seconds"], "examples": tr["examples"],
            "padded_tokens": tr["padded_tokens"], "macro_f1": d["metrics"]["macro_f1"]["value"],
            "max_length": d["max_length"]["tokens"], "duration": d["duration"]}


def run_trainer(train: Path, test: Path, max_length: int, out: Path, seed: int) -> dict:
    import numpy as np
    import torch
    from sklearn.metrics import f1_score
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments,
                              set_seed)

    from tunewise import assets

    rows = [json.loads(x) for x in train.read_text().splitlines()]
    test_rows = [json.loads(x) for x in test.read_text().splitlines()]
    labels = sorted({r["label"] for r in rows})
    set_seed(seed)
    path = assets.minilm_dir()
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=len(labels))

    class DS(torch.utils.data.Dataset):
        def __init__(self, rs: list[dict]) -> None:
            enc = tok([r["text"] for r in rs], truncation=True, max_length=max_length, padding="max_length")
            self.items = [{"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i],
                           "token_type_ids": enc["token_type_ids"][i], "labels": labels.index(r["label"])}
                          for i, r in enumerate(rs)]

        def __len__(self) -> int:
            return len(self.items)

        def __getitem__(self, i: int) -> dict:
            return {k: torch.tensor(v) for k, v in self.items[i].items()}

    steps = math.ceil(len(rows) / HP["batch_size"]) * HP["epochs"]
    args = TrainingArguments(output_dir=str(out), per_device_train_batch_size=HP["batch_size"],
                             per_device_eval_batch_size=64, num_train_epochs=HP["epochs"], learning_rate=HP["lr"],
                             warmup_steps=math.ceil(HP["warmup_ratio"] * steps), weight_decay=HP["weight_decay"],
                             lr_scheduler_type="linear", seed=seed, report_to=[], save_strategy="no",
                             eval_strategy="no", logging_strategy="no", disable_tqdm=True, use_cpu=True,
                             dataloader_num_workers=0, max_grad_norm=1.0)
    trainer = Trainer(model=model, args=args, train_dataset=DS(rows))
    m = trainer.train().metrics
    pred = trainer.predict(DS(test_rows)).predictions
    y = [labels.index(r["label"]) for r in test_rows]
    return {"examples_per_s": m["train_samples_per_second"], "train_seconds": m["train_runtime"],
            "examples": len(rows) * HP["epochs"], "padded_tokens": len(rows) * HP["epochs"] * max_length,
            "macro_f1": float(f1_score(y, np.argmax(pred, axis=1), average="macro")), "optimizer": str(args.optim)}


def main() -> None:
    import numpy as np
    import torch

    OUT.mkdir(exist_ok=True)
    n_train = int(os.environ.get("TUNEWISE_BENCH_PILOT_TRAIN", "1000"))
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    torch.set_num_threads(threads)
    runs: dict[str, list[dict]] = {"tunewise": [], "trainer": []}
    with tempfile.TemporaryDirectory(prefix="tw-bench-pilot-") as tmp:
        tmp_p = Path(tmp)
        train, test = _data(tmp_p, n_train)
        for seed in SEEDS:  # alternate the two, seed by seed, so drift on the box hits both
            ours = run_tunewise(train, test, tmp_p / f"pilot-{seed}", seed)
            runs["tunewise"].append(ours)
            runs["trainer"].append(run_trainer(train, test, ours["max_length"], tmp_p / f"trainer-{seed}", seed))
            print(f"seed {seed}: tunewise {ours['examples_per_s']:.1f} ex/s F1 {ours['macro_f1']:.4f}; Trainer "
                  f"{runs['trainer'][-1]['examples_per_s']:.1f} ex/s F1 {runs['trainer'][-1]['macro_f1']:.4f}", flush=True)

    def mean(name: str, key: str) -> float:
        return float(np.mean([r[key] for r in runs[name]]))

    def sd(name: str, key: str) -> float:
        return float(np.std([r[key] for r in runs[name]], ddof=1))

    ratio = mean("tunewise", "examples_per_s") / mean("trainer", "examples_per_s")
    f1_gap = (mean("tunewise", "macro_f1") - mean("trainer", "macro_f1")) * 100
    max_len = runs["tunewise"][0]["max_length"]
    print(f"\nMiniLM-L6 full fine-tune, {n_train} Rotten Tomatoes snippets x {HP['epochs']} epochs, batch "
          f"{HP['batch_size']}, max length {max_len} tokens, {threads} CPU threads, seeds {SEEDS} "
          f"(Trainer optimizer: {runs['trainer'][0]['optimizer']})")
    print(f"{'method (mean over seeds)':<44} {'train s':>8} {'examples/s':>11} {'padded tokens':>14} {'macro-F1 (sd)':>15}")
    for label, name in (("baseline: Trainer, fixed-length padding", "trainer"),
                        ("tunewise pilot (dynamic, length-grouped)", "tunewise")):
        print(f"{label:<44} {mean(name, 'train_seconds'):>8.1f} {mean(name, 'examples_per_s'):>11.1f} "
              f"{mean(name, 'padded_tokens'):>14,.0f} {mean(name, 'macro_f1'):>8.4f} ({sd(name, 'macro_f1'):.4f})")
    print(f"throughput ratio (tunewise / Trainer): {ratio:.2f}x (target >= 1.5x); macro-F1 difference of the means "
          f"{f1_gap:+.1f} points (target within +-1)")
    errs = [r["duration"]["error_pct"] for r in runs["tunewise"]]
    du = runs["tunewise"][0]["duration"]
    print(f"duration: predicted after {du['predicted_after_steps']} of {du['total_steps']} steps vs actual, error per "
          f"seed {', '.join(f'{e:+.1f}%' for e in errs)} (target within +-10%)")
    result = {"n_train": n_train, "threads": threads, "hyperparameters": HP, "seeds": SEEDS, "runs": runs,
              "throughput_ratio": ratio, "macro_f1_diff_points": f1_gap, "duration_error_pct": errs}
    (OUT / "pilot.json").write_text(json.dumps(result, indent=2))

if __name__ == "__main__":
    main()
