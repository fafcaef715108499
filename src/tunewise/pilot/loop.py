"""The training loop shared by encoders and causal LMs: AdamW, linear warm-up/decay, bf16 autocast on
GPUs that support it, timing, duration prediction, and a rich progress bar with examples/s and loss.

Duration prediction (``predict_duration``): after ``batching.prediction_steps(total)`` steps (10%,
at least 8) — which the batch plan makes a length-stratified sample of the first epoch — the rate
is seconds per unit of *work* over those steps with the first (warm-up: allocations, kernel and
primitive selection) left out of the rate and counted as-is. A step's work is its padded tokens
times (1 + r x sequence length), r = layers x hidden / non-embedding parameters: the attention
share of a transformer's FLOPs per token (2N + 2 layers L d, Kaplan et al. 2020), which matters on
long texts. The remaining steps' work is known from the plan, so predicted = elapsed + rate x
remaining work. The old predictor (a least-squares line in padded tokens over the first 5% of steps,
in shuffled order) is kept as ``predict_duration_first_steps``: benchmarks/bench_duration.py
compares the two."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tunewise.pilot import batching


@dataclass
class TrainStats:
    steps: int = 0
    examples: int = 0
    tokens: int = 0                 # real (non-padding) tokens processed
    padded_tokens: int = 0          # tokens including padding
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)
    step_cpu_seconds: list[float] = field(default_factory=list)   # process CPU time (benchmarks: noise)
    duration: dict[str, Any] = field(default_factory=dict)
    dtype: str = "float32"          # training compute dtype (bf16 autocast on GPUs that support it)

    def to_dict(self) -> dict[str, Any]:
        n = len(self.losses)
        k = max(1, n // 10)
        return {
            "steps": self.steps, "examples": self.examples, "tokens": self.tokens,
            "padded_tokens": self.padded_tokens, "seconds": round(self.seconds, 3),
            "examples_per_s": round(self.examples / self.seconds, 3) if self.seconds else None,
            "tokens_per_s": round(self.tokens / self.seconds, 1) if self.seconds else None,
            "loss_first": round(float(np.mean(self.losses[:k])), 4) if n else None,
            "loss_last": round(float(np.mean(self.losses[-k:])), 4) if n else None,
            "loss_curve": [round(x, 4) for x in self.losses],
            "duration": self.duration, "dtype": self.dtype,
        }


def step_work(padded: list[int], seq_lens: list[int], attention_ratio: float) -> list[float]:
    """Work of each step: padded tokens x (1 + attention_ratio x sequence length)."""
    return [float(p) * (1.0 + attention_ratio * float(n)) for p, n in zip(padded, seq_lens)]


def attention_ratio(model: Any) -> float:
    """layers x hidden / non-embedding parameters (0 when the model does not say)."""
    cfg = getattr(model, "config", None)
    layers = getattr(cfg, "num_hidden_layers", None) or getattr(cfg, "n_layer", None)
    hidden = getattr(cfg, "hidden_size", None) or getattr(cfg, "n_embd", None)
    if not layers or not hidden:
        return 0.0
    from tunewise.pilot.calibration import non_embedding_params

    n = non_embedding_params(model)
    return float(layers) * float(hidden) / n if n > 0 else 0.0


WARMUP_STEPS = 1


def predict_duration(step_seconds: list[float], work: list[float], *, warmup: int = WARMUP_STEPS) -> float:
    """Predicted seconds of the whole run (``work`` of every planned step) from the steps timed so
    far: elapsed + (seconds per work over the steps after ``warmup``) x the remaining steps' work."""
    seen = len(step_seconds)
    elapsed = float(sum(step_seconds))
    w = min(warmup, seen - 1) if seen > 1 else 0
    t, x = np.asarray(step_seconds[w:], dtype=float), np.asarray(work[w:seen], dtype=float)
    remaining = float(np.sum(work[seen:]))
    if len(t) == 0 or x.sum() <= 0:
        return elapsed * len(work) / max(seen, 1)
    return elapsed + float(t.sum() / x.sum()) * remaining


def predict_duration_first_steps(step_seconds: list[float], step_tokens: list[int], total_tokens: list[int]) -> float:
    """The previous predictor, kept as the benchmark's baseline: the first step counted as-is and left
    out of the rate; per-step time a + b x padded tokens (least squares, both >= 0) over the steps
    seen, else seconds per padded token."""
    seen = len(step_seconds)
    t = np.asarray(step_seconds[1:], dtype=float)
    x = np.asarray(step_tokens[1:], dtype=float)
    remaining = np.asarray(total_tokens[seen:], dtype=float)
    elapsed = float(sum(step_seconds))
    if len(t) == 0:
        return elapsed * len(total_tokens) / max(seen, 1)
    a, b = 0.0, float(t.sum() / max(x.sum(), 1.0))
    if len(t) >= 5 and x.std() > 0.1 * x.mean():
        slope, intercept = np.polyfit(x, t, 1)
        if slope > 0 and intercept >= 0:
            a, b = float(intercept), float(slope)
    return elapsed + a * len(remaining) + b * float(remaining.sum())


def train(model: Any, step_batches: list[dict], *, lr: float, warmup_ratio: float, weight_decay: float,
          device: str, progress: bool, label: str, predict_after: int | None = None,
          on_step: Callable[[int, float], None] | None = None) -> TrainStats:
    """Run the planned steps (each a padded batch dict with ``labels``); returns timing and losses."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = _adamw([{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr)
    total = len(step_batches)
    sched = get_linear_schedule_with_warmup(opt, int(math.ceil(warmup_ratio * total)), total)
    padded = [int(b["input_ids"].numel()) for b in step_batches]
    work = step_work(padded, [int(b["input_ids"].shape[-1]) for b in step_batches], attention_ratio(model))
    k = predict_after or batching.prediction_steps(total)
    amp = device.startswith("cuda") and torch.cuda.is_bf16_supported()
    stats = TrainStats(dtype="bfloat16" if amp else "float32")
    model.train()
    bar = _progress(progress)
    task = bar.add_task(label, total=total, exs=0.0, loss=float("nan")) if bar else None
    t_start = time.perf_counter()
    try:
        if bar:
            bar.start()
        for step, batch in enumerate(step_batches):
            t0, c0 = time.perf_counter(), time.process_time()
            batch = {kk: v.to(device) for kk, v in batch.items()}
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                out = model(**batch)
            loss = out.loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            value = float(loss.detach().cpu())
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            dt = time.perf_counter() - t0
            stats.step_seconds.append(dt)
            stats.step_cpu_seconds.append(time.process_time() - c0)
            stats.losses.append(value)
            stats.steps += 1
            stats.examples += int(batch["input_ids"].shape[0])
            stats.tokens += int(batch["attention_mask"].sum())
            stats.padded_tokens += padded[step]
            if step + 1 == k:
                stats.duration = {"predicted_s": round(predict_duration(stats.step_seconds, work), 3),
                                  "predicted_after_steps": k, "total_steps": total,
                                  "warmup_steps_excluded": min(WARMUP_STEPS, k - 1),
                                  "method": "seconds per unit of work over a length-stratified sample of the "
                                            "first epoch's batches, warm-up step excluded; work = padded tokens "
                                            "x (1 + layers x hidden / N x sequence length)"}
            if on_step:
                on_step(step, value)
            if bar:
                elapsed = time.perf_counter() - t_start
                bar.update(task, advance=1, exs=stats.examples / elapsed, loss=value)
    finally:
        if bar:
            bar.stop()
    stats.seconds = time.perf_counter() - t_start
    if stats.duration:
        pred = stats.duration["predicted_s"]
        stats.duration["actual_s"] = round(stats.seconds, 3)
        stats.duration["error_pct"] = round(100 * (pred - stats.seconds) / stats.seconds, 1)
    model.eval()
    return stats


def _adamw(groups: list[dict[str, Any]], lr: float) -> Any:
    """AdamW, fused into one kernel per step where this torch build supports it (CPU and CUDA in
    torch >= 2.4): on the 22.7M-parameter MiniLM that cut the optimizer step from ~105 ms to ~35 ms
    per batch on 2 CPU cores, a third of a step on short texts. Same update rule either way."""
    import torch

    try:
        return torch.optim.AdamW(groups, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(groups, lr=lr)


def _progress(enabled: bool):  # noqa: ANN202 - rich Progress or None
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("steps · {task.fields[exs]:.1f} ex/s · loss {task.fields[loss]:.4f}"),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True),
                    transient=False)

