"""Calibration for the estimator: achieved FLOP/s and MFU from the measured training tokens/s.

Training FLOPs per token are taken as 6 x N for a full fine-tune (forward 2N + backward 4N) and, as
a stated approximation, 4 x N for LoRA / frozen-encoder head training (forward 2N + backward through
activations 2N, no weight gradients for frozen weights). N counts the non-embedding parameters
(Kaplan et al. 2020 convention: an embedding lookup does no matmul). Peak FLOP/s is measured here
with a dense fp32 matmul (torch), so MFU is relative to what this machine's BLAS achieves, not a
vendor datasheet figure; on a shared (noisy) machine both numbers move run to run.
"""

from __future__ import annotations

import os
import platform
import time
from functools import lru_cache
from typing import Any

FLOPS_PER_TOKEN_FACTOR = {"full": 6, "lora": 4, "head": 4}


@lru_cache(maxsize=4)
def measured_peak_flops(device: str = "cpu", size: int = 2048, seconds: float = 1.0) -> float:
    """Dense fp32 matmul FLOP/s on ``device`` (best of repeated runs within ``seconds``)."""
    import torch

    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    torch.matmul(a, b)  # warm-up
    best = 0.0
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        t0 = time.perf_counter()
        torch.matmul(a, b)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        best = max(best, 2 * size ** 3 / dt)
    return best


def hardware(device: str) -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {"device": device, "torch": torch.__version__, "threads": torch.get_num_threads(),
                            "cpu_count": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                            else os.cpu_count(), "platform": platform.platform(), "cpu": _cpu_name()}
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def non_embedding_params(model: Any) -> int:
    import torch

    emb = sum(p.numel() for m in model.modules() if isinstance(m, torch.nn.Embedding) for p in m.parameters())
    return int(sum(p.numel() for p in model.parameters()) - emb)


def calibration(*, family: str, params: int, flops_params: int, method: str, tokens_per_s: float,
                device: str) -> dict[str, Any]:
    """The calibration dict the estimator consumes."""
    factor = FLOPS_PER_TOKEN_FACTOR.get(method, 4)
    achieved = factor * flops_params * tokens_per_s
    peak = measured_peak_flops(device)
    hw = hardware(device)
    return {
        "family": family, "params": int(params), "method": method, "tokens_per_s": round(tokens_per_s, 2),
        "flops_params": int(flops_params), "flops_per_token": factor * int(flops_params),
        "flops_per_token_rule": f"{factor} x non-embedding params ({method})",
        "achieved_flops": round(achieved, 1), "peak_flops": round(peak, 1),
        "peak_flops_source": "measured: dense fp32 2048x2048 matmul on this device (torch), best of 1 s",
        "mfu": round(achieved / peak, 4) if peak else None,
        "hardware": f"{hw.get('gpu') or hw['cpu']} ({device}, {hw['threads']} threads)",
    }
