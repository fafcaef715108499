"""Fine-tuning and serving an open model on rented GPUs: memory fit, FLOPs, MFU, GPU-hours, dollars."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from tunewise.catalog import Catalog, GpuSpec, OpenModel
from tunewise.errors import BadInputError
from tunewise.estimate import assumptions as A
from tunewise.estimate._ledger import Ledger
from tunewise.estimate._priced import Priced, not_possible
from tunewise.estimate.candidate import Candidate
from tunewise.estimate.hfconfig import resolve_open_model
from tunewise.estimate.models import Calibration, MemoryFit, Traffic
from tunewise.estimate.ranges import HOURS_Q, Range
from tunewise.estimate.workload import Workload

D = Decimal


def lora_trainable_params(m: OpenModel, rank: int) -> int:
    """Adapter parameters for rank ``rank`` on every attention and MLP projection of every layer
    (for a mixture of experts: on every expert's MLP)."""
    q_out, kv_out, h, f = m.heads * m.head_dim, m.kv_heads * m.head_dim, m.hidden, m.intermediate
    per_layer = (h + q_out) + 2 * (h + kv_out) + (q_out + h)
    per_layer += (3 if m.architecture == "decoder" else 2) * (h + f) * (m.experts or 1)
    return rank * per_layer * m.layers


def training_memory(m: OpenModel, method: str, *, gpus: int, gpu_memory_gb: Decimal, seq: int,
                    batch: int, checkpointing: bool, rank: int) -> MemoryFit:
    """Bytes per GPU for a fine-tune: model states (+optimizer), activations, logits, runtime."""
    n_params = D(m.params)
    if method == "full":
        states = A.BYTES_FULL * n_params
    else:
        states = A.BYTES_FROZEN[method] * n_params + A.BYTES_TRAINABLE * lora_trainable_params(m, rank)
    if gpus > 1:
        states = states / gpus  # sharded across GPUs (FSDP / ZeRO-3)
    tokens = D(seq * batch)
    if checkpointing:
        act = tokens * m.hidden * (A.CKPT_BYTES_PER_HIDDEN * m.layers + A.ACT_BYTES_PER_HIDDEN)
    else:
        act = tokens * m.hidden * A.ACT_BYTES_PER_HIDDEN * m.layers
    logits = tokens * m.vocab * A.LOGIT_BYTES
    parts = {"model states": states / A.GB, "activations": act / A.GB, "logits": logits / A.GB,
             "runtime": A.GPU_RUNTIME_OVERHEAD_GB}
    needed = sum(parts.values(), D(0))
    avail = gpu_memory_gb * A.USABLE_MEMORY_FRACTION
    return MemoryFit(needed_gb_per_gpu=needed.quantize(D("0.1")),
                     available_gb_per_gpu=avail.quantize(D("0.1")), fits=needed <= avail,
                     breakdown_gb={k: v.quantize(D("0.01")) for k, v in parts.items()},
                     gradient_checkpointing=checkpointing)


def _refusal(cal: Calibration, gpu: GpuSpec, catalog: Catalog) -> str | None:
    """Why a calibration does not transfer to training on ``gpu`` (None: it does).

    The estimate computes FLOPs as k x N (total parameters) x tokens and divides by the GPU's bf16
    dense datasheet peak, so an MFU transfers only when it was measured that way: on this GPU kind,
    against that peak, with the same N, in a 16-bit training dtype (a float32 run's MFU against the
    bf16 peak understates a bf16 run), by a run that trains the model (a frozen-encoder head runs
    forward only). A CPU pilot's MFU is against a measured CPU fp32 peak: not a GPU figure."""
    if cal.device_kind == "cpu":
        return (f"measured on a CPU ({cal.hardware}): its MFU is against that CPU's measured fp32 matmul peak, "
                f"not a GPU's bf16 datasheet peak, so it does not transfer to {gpu.id}")
    hw = cal.gpu_id
    if hw is None:
        try:
            hw = catalog.gpu(cal.hardware).id
        except BadInputError:
            return (f"'{cal.hardware}' is not a catalog GPU (add the device name to that GPU's aliases in "
                    "gpu-specs.yaml), so it does not apply")
    if hw != gpu.id:
        return f"measured on {hw}, which is not {gpu.id}"
    conv = cal.flops_convention or {}
    if conv and (conv.get("n") != "total" or conv.get("peak") != "bf16-datasheet"):
        return (f"its MFU uses another FLOP convention (N = {conv.get('n')} parameters, peak = {conv.get('peak')}) "
                "than this estimate (N = total parameters, bf16 datasheet peak)")
    if cal.train_dtype and cal.train_dtype not in ("bfloat16", "float16"):
        return (f"trained in {cal.train_dtype}: its MFU against the bf16 datasheet peak understates a bf16 "
                "fine-tune")
    if cal.method == "head":
        return "a frozen-encoder head run is forward-only; its MFU does not transfer to a full or LoRA fine-tune"
    return None


def _match_calibration(cals: list[Calibration], om: OpenModel, gpu: GpuSpec, catalog: Catalog,
                       ledger: Ledger) -> tuple[Calibration, bool] | None:
    best = None
    for cal in cals:
        why = _refusal(cal, gpu, catalog)
        if why is not None:
            ledger.note(f"calibration from the {cal.family} pilot not applied to {gpu.id}: {why}")
            continue
        fam = cal.family.lower()
        same = fam in (om.family.lower(), om.id.lower(), om.hf_id.lower()) or om.id.startswith(fam)
        if best is None or (same and not best[1]):
            best = (cal, same)
    return best


def _calibrated_mfu(cal: Calibration, peak: Decimal, ledger: Ledger) -> Decimal:
    if cal.mfu is not None:
        return cal.mfu
    if cal.achieved_flops is not None:
        return min(cal.achieved_flops / peak, D(1))
    k = A.FLOPS_PER_PARAM_TOKEN.get(cal.method or "full", D(6))
    ledger.note(f"calibration gave tokens/s only: MFU derived assuming {k} N FLOPs per token")
    return min(cal.tokens_per_s * k * cal.params / peak, D(1))  # type: ignore[operator]


def price_selfhost(c: Candidate, workload: Workload, traffic: Traffic, catalog: Catalog,
                   ledger: Ledger, calibrations: list[Calibration]) -> Priced:
    om = resolve_open_model(catalog, c.model)
    gpu = catalog.gpu(c.gpu or "")
    offer = ledger.use(catalog.gpu_offer(gpu.id, c.offer or ""), f"{gpu.id} GPU-hour")
    method = c.method or "lora"
    gpus = c.gpus
    rank = c.opt_int("rank", A.DEFAULT_LORA_RANK) or A.DEFAULT_LORA_RANK
    batch = c.opt_int("batch", A.DEFAULT_MICRO_BATCH) or A.DEFAULT_MICRO_BATCH
    epochs = c.opt_int("epochs", A.DEFAULT_SELFHOST_EPOCHS) or A.DEFAULT_SELFHOST_EPOCHS
    limit = c.opt_int("seq") or om.context
    longest = workload.max_tokens
    seq = min(longest, limit) if longest else min(A.FALLBACK_SEQ, limit)
    if not longest:
        ledger.note(f"longest example unknown: activation memory sized for {seq:,}-token sequences")
    ledger.note(f"{om.id}: {D(om.params) / 10**9:.2f}B parameters, {om.layers} layers "
                f"({om.hf_id}; confidence {om.confidence})" + (f"; {om.note}" if om.confidence == "user" else ""))
    if om.is_moe:
        ledger.note(f"mixture of experts: {om.experts_active} of {om.experts} experts per token, "
                    f"{D(om.flops_params) / 10**9:.2f}B active parameters: FLOPs from the active parameters, "
                    "memory from all of them (every expert is resident)")
    ledger.note(f"training on {gpus} x {gpu.name} ({gpu.memory_gb} GB, {gpu.bf16_dense_tflops} "
                f"TFLOP/s dense bf16), micro-batch {batch}, {epochs} epochs"
                + (f", LoRA rank {rank} on all attention and MLP projections" if method != "full" else ""))

    # -- memory: try without gradient checkpointing, then with it (gc=auto) -------------------
    gc_mode = c.opt("gc", "auto")
    tries = {"auto": [False, True], "on": [True], "off": [False]}[gc_mode or "auto"]
    fit = None
    for gc in tries:
        fit = training_memory(om, method, gpus=gpus, gpu_memory_gb=gpu.memory_gb, seq=seq, batch=batch,
                              checkpointing=gc, rank=rank)
        if fit.fits:
            break
    assert fit is not None
    if not fit.fits:
        return not_possible(_no_fit_reason(om, method, gpu, gpus, seq, batch, rank, fit),
                            status="does-not-fit", memory=fit)
    ledger.note(f"memory per GPU: {fit.needed_gb_per_gpu} GB needed of {fit.available_gb_per_gpu} GB "
                f"usable ({_bytes_rule(method)}; activations for {seq:,}-token sequences"
                + ("; model states sharded across GPUs" if gpus > 1 else "") + ")")
    if fit.gradient_checkpointing:
        ledger.note("gradient checkpointing on (needed to fit): +2 N FLOPs per token")

    # -- compute -----------------------------------------------------------------------------
    counted, exact = workload.for_tokenizer(om.tokenizer) if om.tokenizer else (workload, False)
    tokens, notes = counted.truncated_tokens(limit)
    for n in notes:
        ledger.note(n)
    if exact:
        band = Range.exact(1)
        ledger.note(f"tokens counted with {om.id}'s own tokenizer ({om.tokenizer})")
    else:
        band = Range.of(1 - A.TOKENIZER_BAND, 1, 1 + A.TOKENIZER_BAND)
        ledger.note(f"tokens counted with {workload.tokenizer}, not {om.id}'s tokenizer: +/-10% band")
    processed = tokens.times(band).times(epochs).as_ints()
    k = A.FLOPS_PER_PARAM_TOKEN[method] + (A.CHECKPOINTING_EXTRA if fit.gradient_checkpointing else 0)
    flops = processed.times(k * om.flops_params)
    ledger.note(f"training FLOPs = {k} x N x tokens processed (sequence packing assumed: no padding)")
    peak = gpu.bf16_dense_tflops * D(10) ** 12
    calibrated = False
    match = _match_calibration(calibrations, om, gpu, catalog, ledger)
    if "mfu" in c.options:
        m = c.opt_dec("mfu") or D("0.35")
        mfu = Range.of(m * D("0.8"), m, min(m * D("1.2"), D(1)))
        ledger.note(f"MFU {m} (given), band +/-20%")
    elif match is not None:
        cal, same = match
        m = _calibrated_mfu(cal, peak, ledger)
        w = A.CALIBRATED_BAND_SAME_FAMILY if same else A.CALIBRATED_BAND_OTHER_FAMILY
        mfu = Range.of(m * (1 - w), m, min(m * (1 + w), D(1)))
        calibrated = True
        ledger.note(f"CALIBRATED: MFU {m:.3f} measured for {cal.family} on {gpu.id}; band +/-{w * 100:.0f}%"
                    + ("" if same else f" (measured on another family than {om.family})"))
    else:
        lo, mid, hi = A.MFU[method]
        mfu = Range.of(lo, mid, hi)
        ledger.note(f"MFU {mid} expected, band {lo}-{hi} (uncalibrated; published errors -41%..+36%)")
    scale = D(1) if gpus == 1 else A.MULTI_GPU_SCALING
    if gpus > 1:
        ledger.note(f"multi-GPU scaling efficiency {scale}")
    rate = peak * gpus * scale * 3600  # FLOPs per wall-clock hour at MFU 1
    oh_lo, oh_mid, oh_hi = A.JOB_OVERHEAD_HOURS
    wall = Range.of(flops.low / (rate * mfu.high) + oh_lo, flops.expected / (rate * mfu.expected) + oh_mid,
                    flops.high / (rate * mfu.low) + oh_hi)
    ledger.note(f"+{oh_mid} h per job for setup, model load and checkpointing (band {oh_lo}-{oh_hi} h)")
    if offer.gpu_only:
        ledger.note(f"{offer.id} is the price of the GPU alone: the machine it is attached to is billed on top "
                    "and is not included here (this estimate is low)")
    rented = max(gpus, offer.min_gpus or 1)
    if rented > gpus:
        ledger.note(f"{offer.provider} rents {gpu.id} {rented} at a time ({offer.instance or 'one node'}): "
                    f"all {rented} GPUs are billed while the job runs on {gpus}")
    gpu_hours = wall.times(rented).q(HOURS_Q)
    train = gpu_hours.times(offer.usd).q()
    ledger.note(f"training cost = GPU-hours x {offer.label()} ({offer.provider} {offer.market})")

    # -- serving -----------------------------------------------------------------------------
    serve = _serving(om, gpu, traffic, c, ledger, calibrations, match)
    if isinstance(serve, str):
        return not_possible(serve, status="does-not-fit", memory=fit, billed_tokens=processed,
                            epochs=epochs, train_gpu_hours=gpu_hours)
    serve_gpus, hours_per_request = serve
    always_on = (c.opt("serve", "always-on") == "always-on")
    floor = D(max(serve_gpus, offer.min_gpus or 1)) * A.HOURS_PER_MONTH if always_on else A.SCALE_TO_ZERO_MIN_HOURS
    ledger.note("serving: " + (f"always on, at least {serve_gpus} GPU(s) x {A.HOURS_PER_MONTH} h/month"
                               if always_on else "scale to zero, billed only for busy GPU-hours")
                + f", on the same {offer.provider} {offer.market} offer")

    def monthly(requests: Decimal) -> dict[str, Range]:
        need = hours_per_request.times(requests)
        hours = need.maximum(floor) if always_on else need
        return {"inference": hours.times(offer.usd)}

    month1 = hours_per_request.times(traffic.requests_per_month)
    month1 = (month1.maximum(floor) if always_on else month1).q(HOURS_Q)
    return Priced(train=train, monthly=monthly, calibrated=calibrated,
                  extra={"billed_tokens": processed, "epochs": epochs, "train_gpu_hours": gpu_hours,
                         "serve_gpu_hours_per_month": month1, "memory": fit,
                         "tokens_per_request": {"input": traffic.input_tokens,
                                                "output": traffic.output_tokens}})


def _bytes_rule(method: str) -> str:
    return {"full": "16 bytes/param for AdamW mixed precision",
            "lora": "2 bytes/param frozen + 16 per adapter param",
            "qlora": "0.55 bytes/param 4-bit frozen + 16 per adapter param"}[method]


def _no_fit_reason(om: OpenModel, method: str, gpu: GpuSpec, gpus: int, seq: int, batch: int,
                   rank: int, fit: MemoryFit) -> str:
    text = (f"does not fit: {method} fine-tune of {om.id} needs ~{fit.needed_gb_per_gpu} GB per GPU "
            f"on {gpus} x {gpu.id} (usable {fit.available_gb_per_gpu} GB each)")
    for n in (2, 4, 8, 16, 32, 64):
        if n <= gpus:
            continue
        f = training_memory(om, method, gpus=n, gpu_memory_gb=gpu.memory_gb, seq=seq, batch=batch,
                            checkpointing=True, rank=rank)
        if f.fits:
            text += f"; it would fit on {n} x {gpu.id} (sharded, with gradient checkpointing)"
            break
    else:
        text += f"; it does not fit on up to 64 x {gpu.id}"
    if method != "qlora":
        q = training_memory(om, "qlora", gpus=gpus, gpu_memory_gb=gpu.memory_gb, seq=seq, batch=batch,
                            checkpointing=True, rank=rank)
        if q.fits:
            text += f"; QLoRA would fit ({q.needed_gb_per_gpu} GB)"
    return text


def _serving(om: OpenModel, gpu: GpuSpec, traffic: Traffic, c: Candidate, ledger: Ledger,
             calibrations: list[Calibration], match: tuple[Calibration, bool] | None
             ) -> tuple[int, Range] | str:
    """GPUs per replica and GPU-hours per request (band), or the reason serving does not fit."""
    n_params = D(om.params)
    n_active = D(om.flops_params)
    weights = 2 * n_params * A.SERVE_WEIGHT_FACTOR
    ctx = max(int(traffic.input_tokens + traffic.output_tokens), 1)
    kv = D(2 * om.layers * om.kv_heads * om.head_dim * ctx * 2)  # bytes per concurrent sequence
    usable = gpu.memory_gb * A.USABLE_MEMORY_FRACTION * A.GB
    runtime = A.GPU_RUNTIME_OVERHEAD_GB * A.GB
    for g in A.SERVE_GPU_COUNTS:
        room = g * (usable - runtime) - weights
        if room >= kv:
            break
    else:
        return (f"does not fit for serving: {om.id} bf16 weights need ~{weights / A.GB:.0f} GB, more than "
                f"{A.SERVE_GPU_COUNTS[-1]} x {gpu.id} hold with room for the KV cache")
    batch = int(min(D(A.SERVE_MAX_BATCH), (room / kv).to_integral_value(rounding=ROUND_FLOOR)))
    peak = gpu.bf16_dense_tflops * D(10) ** 12 * g
    bandwidth = gpu.memory_bandwidth_gbs * A.GB * g
    prefill_tps = peak * A.PREFILL_MFU / (2 * n_active)
    # each decode step streams the weights the batch touches: every sequence its active experts,
    # at most all of them; compute is 2 x active parameters per token
    streamed = min(n_params, n_active * batch)
    step = max(2 * streamed / (bandwidth * A.DECODE_BANDWIDTH_EFF),
               batch * 2 * n_active / (peak * A.DECODE_MFU))
    decode_tps = batch / step
    given = c.opt_dec("tps")
    cal_tps = match[0].inference_tokens_per_s if match else None
    if given is not None:
        decode_tps, lo_hi = given * g, A.SERVE_CALIBRATED_BAND
        ledger.note(f"serving decode throughput {given} tokens/s per GPU (given)")
    elif cal_tps is not None:
        decode_tps, lo_hi = cal_tps * g, A.SERVE_CALIBRATED_BAND
        ledger.note(f"serving decode throughput {cal_tps} tokens/s per GPU (measured)")
    else:
        lo_hi = A.SERVE_THROUGHPUT_BAND
        ledger.note(f"serving on {g} x {gpu.id}, continuous batching of {batch} sequences: "
                    f"~{decode_tps / g:.0f} output tokens/s and ~{prefill_tps / g:.0f} prompt tokens/s "
                    f"per GPU (roofline from {gpu.memory_bandwidth_gbs} GB/s and {gpu.bf16_dense_tflops} "
                    f"TFLOP/s; uncalibrated, band x{lo_hi[0]}-x{lo_hi[1]} throughput)")
    seconds = traffic.input_tokens / prefill_tps + traffic.output_tokens / decode_tps
    hours = seconds * g / 3600 / A.SERVE_UTILISATION
    ledger.note(f"serving capacity provisioned for {A.SERVE_UTILISATION:.0%} average utilisation")
    low_tp, high_tp = lo_hi
    return g, Range.of(hours / high_tp, hours, hours / low_tp)
