"""Stated defaults the estimator uses when nothing better is known. Every one shows up, in words,
in the assumptions of each estimate that relies on it. Sources: /work/shared/reference/prices.md
("Estimating from first principles") unless noted."""

from __future__ import annotations

from decimal import Decimal as D

HOURS_PER_MONTH = D(730)  # 8,760 h / 12
PER_MILLION = D(1_000_000)

# Tokens counted with another tokenizer than the provider bills with: +/-10 % band.
TOKENIZER_BAND = D("0.10")

# Training FLOPs per parameter per token: full 6ND, LoRA/QLoRA 4ND (about 2/3); gradient
# checkpointing recomputes the forward pass: +2ND.
FLOPS_PER_PARAM_TOKEN = {"full": D(6), "lora": D(4), "qlora": D(4)}
CHECKPOINTING_EXTRA = D(2)

# Model FLOP utilisation (low, expected, high). Uncalibrated estimates are off by 20-40 %.
MFU = {"full": (D("0.20"), D("0.35"), D("0.50")),
       "lora": (D("0.20"), D("0.35"), D("0.50")),
       "qlora": (D("0.17"), D("0.30"), D("0.43"))}  # QLoRA ~1.2x slower: same band scaled by 0.30/0.35
# After calibration: +/-10 % around the measured MFU for the same family, +/-20 % for another family.
CALIBRATED_BAND_SAME_FAMILY = D("0.10")
CALIBRATED_BAND_OTHER_FAMILY = D("0.20")
MULTI_GPU_SCALING = D("0.90")  # data-parallel efficiency when training on more than one GPU

# Per-job overhead on the rented GPUs (download, load, checkpoint save, eval): (low, expected, high) h.
JOB_OVERHEAD_HOURS = (D("0.10"), D("0.25"), D("0.50"))
DEFAULT_SELFHOST_EPOCHS = 3
DEFAULT_LORA_RANK = 16
DEFAULT_MICRO_BATCH = 1
FALLBACK_SEQ = 2048  # activation memory sequence when the longest example is unknown

# Memory, bytes per parameter: full fine-tune AdamW mixed precision 16 N; LoRA 2 N + 16 n;
# QLoRA 0.55 N + 16 n (n trainable adapter parameters).
BYTES_FULL = D(16)
BYTES_FROZEN = {"lora": D(2), "qlora": D("0.55")}
BYTES_TRAINABLE = D(16)
# Activations per token per layer ~34 * hidden bytes with flash attention (Korthikanti et al. 2022,
# arXiv 2205.05198); with checkpointing only each layer's input (2 * hidden bytes) is kept, plus one
# layer's full activations during recomputation. Logits in fp32: 4 * vocab bytes per token.
ACT_BYTES_PER_HIDDEN = D(34)
CKPT_BYTES_PER_HIDDEN = D(2)
LOGIT_BYTES = D(4)
GPU_RUNTIME_OVERHEAD_GB = D(1)  # CUDA context, allocator, framework buffers
USABLE_MEMORY_FRACTION = D("0.95")
GB = D(10) ** 9

# Serving: bf16 weights 2 N x 1.2; KV cache 2 x layers x kv_heads x head_dim x seq x batch x 2 bytes.
SERVE_WEIGHT_FACTOR = D("1.2")
SERVE_MAX_BATCH = 32
SERVE_GPU_COUNTS = (1, 2, 4, 8)
PREFILL_MFU = D("0.50")  # prefill is compute-bound
DECODE_MFU = D("0.35")
DECODE_BANDWIDTH_EFF = D("0.70")  # share of peak memory bandwidth reached while decoding
SERVE_UTILISATION = D("0.60")  # average busy share of provisioned serving capacity
SERVE_THROUGHPUT_BAND = (D("0.60"), D("1.40"))  # uncalibrated throughput off by up to 40 %
SERVE_CALIBRATED_BAND = (D("0.90"), D("1.10"))
SCALE_TO_ZERO_MIN_HOURS = D(0)
