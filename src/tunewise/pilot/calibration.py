"""Calibration for the estimator: the measured training tokens/s, achieved FLOP/s and MFU, in the
estimator's own FLOP convention, on a named hardware kind.

One convention end to end (``CONVENTION``, the one ``tunewise.estimate.selfhost`` applies):

- **N = total parameters**, embeddings included (the catalog's ``params`` for an open model).
- **FLOPs per token = k x N**: k = 6 for a full fine-tune (forward 2N + backward 4N), 4 for LoRA
  (forward 2N + backward through activations 2N, no weight gradients for frozen weights), 2 for a
  frozen-encoder head (forward only: autograd does not go back through frozen layers).
- **tokens = non-padding tokens** processed per second over the whole run (the estimator counts the
  data's tokens, as if sequences were packed; padding the pilot computes is not useful work).
- **peak = the GPU's bf16 dense datasheet peak** from the catalog (gpu-specs.yaml), the figure the
  estimator divides by. MFU = k N tokens/s / peak.

A GPU pilot is named by its catalog GPU id (``gpu_id``, from the CUDA device name through the
catalog's aliases) and trains in bf16 autocast where the GPU supports it, so that its MFU is the
MFU of a bf16 run against the bf16 peak. A CPU pilot (``device_kind`` 'cpu') has no datasheet peak:
its MFU is against a dense fp32 matmul measured here, which says how well this CPU was used but does
not transfer to a GPU; the estimator refuses it for GPU candidates and says why. Its tokens/s is
what a CPU serving or training estimate on the same kind of machine and thread count can use.
"""

from __future__ import annotations

import os
import platform
import time
from functools import lru_cache
from typing import Any

FLOPS_PER_TOKEN_FACTOR = {"full": 6, "lora": 4, "head": 2}
CONVENTION = {"n": "total", "tokens": "non-padding", "peak": "bf16-datasheet",
              "text": "MFU = k x N x non-padding tokens/s / peak; N = total parameters (embeddings "
                      "included); k = 6 full, 4 LoRA, 2 frozen-encoder head; peak = the GPU's bf16 dense "
                      "datasheet figure from the catalog"}
CPU_CONVENTION = {"n": "total", "tokens": "non-padding", "peak": "measured-fp32-matmul",
                  "text": "MFU = k x N x non-padding tokens/s / peak; N = total parameters; peak = a dense "
                          "fp32 2048x2048 matmul measured on this CPU (torch), best of 1 s: not a GPU figure"}


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


def device_kind(device: str) -> str:
    return "cuda" if device.startswith("cuda") else "cpu"


def hardware(device: str) -> dict[str, Any]:
    import torch

    kind = device_kind(device)
    info: dict[str, Any] = {"device": device, "device_kind": kind, "torch": torch.__version__,
                            "threads": torch.get_num_threads(),
                            "cpu_count": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                            else os.cpu_count(), "platform": platform.platform(), "cpu": _cpu_name()}
    if kind == "cuda":
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
        info["gpu_id"] = gpu_catalog_id(info["gpu"])
    return info


def describe(hw: dict[str, Any]) -> str:
    """'NVIDIA H100 80GB HBM3 (cuda)' or 'AMD EPYC 7B13 (cpu, 2 threads)'."""
    if hw.get("device_kind") == "cuda":
        return f"{hw.get('gpu')} ({hw['device']})"
    return f"{hw['cpu']} (cpu, {hw['threads']} threads)"


def gpu_catalog_id(name: str | None) -> str | None:
    """The catalog GPU id for a CUDA device name ('NVIDIA A100-SXM4-80GB' -> 'a100-80gb'), through the
    ``aliases`` of the catalog's gpu-specs.yaml (case and spacing ignored); None if it is not listed."""
    if not name:
        return None
    from tunewise.catalog import load_catalog
    from tunewise.errors import BadInputError

    try:
        cat = load_catalog()
    except BadInputError:
        return None
    plain = " ".join(name.split())
    for cand in (plain, plain.removeprefix("NVIDIA ").strip()):
        try:
            return cat.gpu(cand).id
        except BadInputError:
            continue
    return None


def _datasheet_peak(gpu_id: str) -> float:
    from tunewise.catalog import load_catalog

    return float(load_catalog().gpu(gpu_id).bf16_dense_tflops) * 1e12


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


def calibration(*, family: str, params: int, method: str, tokens_per_s: float, device: str,
                train_dtype: str = "float32", padded_tokens_per_s: float | None = None,
                hw: dict[str, Any] | None = None, cpu_peak_flops: float | None = None) -> dict[str, Any]:
    """The calibration dict the estimator consumes (``tunewise.estimate.Calibration``).

    ``params``: total parameters (N). ``tokens_per_s``: non-padding training tokens per second over
    the whole run. ``hw``: ``hardware(device)`` (measured here when not given); ``cpu_peak_flops``:
    the CPU peak (measured here when not given). Pure arithmetic once both are known."""
    hw = hw or hardware(device)
    kind = hw.get("device_kind") or device_kind(device)
    factor = FLOPS_PER_TOKEN_FACTOR.get(method, 6)
    achieved = factor * int(params) * float(tokens_per_s)
    gpu_id = hw.get("gpu_id") if kind == "cuda" else None
    out: dict[str, Any] = {
        "family": family, "params": int(params), "method": method, "device_kind": kind, "gpu_id": gpu_id,
        "hardware": describe(hw), "threads": hw.get("threads"), "train_dtype": train_dtype,
        "tokens_per_s": round(float(tokens_per_s), 2), "train_tokens_per_s": round(float(tokens_per_s), 2),
        "padded_tokens_per_s": round(padded_tokens_per_s, 2) if padded_tokens_per_s else None,
        "flops_per_token": factor * int(params), "flops_per_token_rule": f"{factor} x N total params ({method})",
        "achieved_flops": round(achieved, 1),
    }
    if kind == "cuda" and gpu_id:
        peak = _datasheet_peak(gpu_id)
        mfu = achieved / peak
        ok = train_dtype in ("bfloat16", "float16") and mfu <= 1
        out.update(flops_convention=dict(CONVENTION), peak_flops=round(peak, 1),
                   peak_flops_source=f"catalog gpu-specs.yaml: {gpu_id} bf16 dense datasheet peak",
                   mfu=round(mfu, 4) if mfu <= 1 else None, transferable=ok,
                   note=None if ok else _over_one(mfu) if mfu > 1 else
                   f"trained in {train_dtype}: its MFU against the bf16 peak understates a bf16 run")
    elif kind == "cuda":
        out.update(flops_convention=dict(CONVENTION), peak_flops=None, mfu=None, transferable=False,
                   peak_flops_source=None,
                   note=f"GPU '{hw.get('gpu')}' is not in the catalog's gpu-specs.yaml (no datasheet peak): "
                        "add its device name to that GPU's aliases to calibrate with it")
    else:
        peak = cpu_peak_flops if cpu_peak_flops is not None else measured_peak_flops(device)
        # ``mfu`` stays None: the estimator's MFU is against a GPU's bf16 datasheet peak, and this is not
        # one. ``cpu_mfu`` says how well this CPU was used (it can pass 1 for a model whose N is mostly
        # embeddings, which the total-N convention counts but a lookup does not compute).
        out.update(flops_convention=dict(CPU_CONVENTION), peak_flops=round(peak, 1),
                   peak_flops_source="measured: dense fp32 2048x2048 matmul on this CPU (torch), best of 1 s",
                   mfu=None, cpu_mfu=round(achieved / peak, 4) if peak else None, transferable=False,
                   note="CPU run: tokens/s holds for this CPU kind and thread count; its MFU (cpu_mfu, against "
                        "this CPU's measured fp32 peak) does not transfer to a GPU")
    return out


def _over_one(mfu: float) -> str:
    return (f"MFU {mfu:.2f} > 1 under the total-N convention (embeddings, a lookup, are counted in N): "
            "not a usable calibration for this model")
