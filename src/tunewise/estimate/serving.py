"""Serving sized from a measurement: whole instances of an hourly offer for the plan's traffic.

A pilot measured, on this machine, how long one request takes (p95 at batch size 1) and how many
requests per second a model process serves at each batch size. For an offer (a CPU instance or a
GPU) this module works out how many instances the peak hour needs so that

* no instance is more than ``RHO_CAP`` busy in the peak hour (headroom for bursts), and
* the predicted p95 latency, ``fill wait + service time / (1 - utilisation)``, stays within the
  latency objective (the M/M/1 stretch factor: conservative for a model's near-constant service
  time),

and bills those instances for every hour of the month (they are up whether busy or not). Every
rule is stated in the notes of the result; nothing here reads files or the catalog.

Scaling a measurement to an offer:

* CPU offer, CPU measurement (calibrated): one model process per ``threads`` vCPUs (as measured),
  throughput proportional to the vCPUs, single-request latency unchanged (slower if the instance
  has fewer vCPUs than the measurement used); another CPU is +/-30% (``CPU_BAND``).
* GPU offer, CPU measurement (uncalibrated roofline): ``2 x params x tokens`` FLOPs per request at
  5-30% of the GPU's dense bf16 peak plus a fixed per-batch overhead, and ``2 x params`` bytes per
  generated token at 70% of its memory bandwidth.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tunewise.estimate.assumptions import HOURS_PER_MONTH
from tunewise.estimate.ranges import Range

D = Decimal
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
RHO_CAP = D("0.70")            # at most 70% busy in the peak hour: 30% headroom
CPU_BAND = (D("0.70"), D(1), D("1.30"))   # another CPU generation: throughput x0.7..x1.3
OS_MEMORY_GB = D("0.5")        # operating system and server process outside the model
GPU_MFU = (D("0.05"), D("0.15"), D("0.30"))  # small-batch inference on a GPU, uncalibrated
GPU_BATCH_OVERHEAD_S = D("0.004")  # kernel launches, host<->device copies per forward pass
GPU_DECODE_BW_EFF = D("0.70")
GPU_BATCH_SIZES = (1, 8, 32)
MAX_INSTANCES = 10_000


class ServingMeasurement(BaseModel):
    """What a pilot measured about serving its model, and what the roofline needs."""

    model_config = ConfigDict(frozen=True)

    source: str = Field(description="where it was measured, e.g. 'pilot minilm on AMD EPYC (cpu, 2 threads)'")
    device_kind: Literal["cpu", "cuda"] = "cpu"
    threads: int = Field(1, ge=1)
    gpu_id: str | None = None
    latency_p95_ms: Decimal = Field(gt=0)
    latency_p50_ms: Decimal | None = None
    latency_n: int | None = None
    throughput: dict[int, Decimal] = Field(description="batch size -> requests (examples) per second")
    memory_gb: Decimal = Field(gt=0, description="resident memory of one model process")
    params: int = Field(0, ge=0, description="model parameters (0: not a neural model, CPU only)")
    tokens_per_request: int = Field(0, ge=0, description="tokens in one forward pass (roofline)")
    output_tokens: int = Field(0, ge=0, description="generated tokens per request (roofline)")
    length_scale: Decimal = Field(D(1), gt=0, description="planned request length / measured length")
    cpu_only: bool = False


class Load(BaseModel):
    model_config = ConfigDict(frozen=True)

    requests_per_month: Decimal = Field(ge=0)
    peak_factor: Decimal = Field(D(1), ge=1, description="peak-hour rate / mean rate")
    latency_p95_ms: Decimal = Field(gt=0, description="the objective")

    @property
    def mean_rps(self) -> Decimal:
        return self.requests_per_month / SECONDS_PER_MONTH

    @property
    def peak_rps(self) -> Decimal:
        return self.mean_rps * self.peak_factor

    def with_requests(self, requests: Decimal) -> Load:
        return self.model_copy(update={"requests_per_month": requests})


class Offer(BaseModel):
    """An hourly offer to size on (built from a catalog price by the caller)."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: Literal["cpu", "gpu"]
    label: str
    usd_per_hour: Decimal = Field(gt=0, description="per instance (CPU) or per GPU")
    vcpus: int | None = None
    memory_gb: Decimal | None = None
    cpu_arch: str | None = None
    monthly_cap_usd: Decimal | None = None  # hourly billing capped per instance and month
    gpu_id: str | None = None
    gpu_tflops: Decimal | None = None
    gpu_memory_gb: Decimal | None = None
    gpu_bandwidth_gbs: Decimal | None = None
    min_gpus: int = 1


class Performance(BaseModel):
    """One instance of an offer running the model: per batch size, service time and throughput."""

    model_config = ConfigDict(frozen=True)

    calibrated: bool
    service_s: dict[int, Decimal]      # seconds one batch of that size takes (p95 for batch 1)
    rps: dict[int, Decimal]            # requests per second one instance serves at that batch size
    band: tuple[Decimal, Decimal, Decimal]  # throughput factor low/expected/high
    notes: list[str] = []


class Sizing(BaseModel):
    """Instances of one offer for one load; costs are per month (USD)."""

    model_config = ConfigDict(frozen=True)

    offer: str
    label: str
    kind: str
    calibrated: bool
    feasible: bool
    reason: str | None = None
    batch_size: int | None = None
    instances: Range | None = None
    latency_p95_ms: Decimal | None = None
    utilisation_peak: Decimal | None = None
    utilisation_mean: Decimal | None = None
    headroom: Decimal | None = None
    capacity_rps: Decimal | None = None
    monthly_usd: Range | None = None
    notes: list[str] = []


# ------------------------------------------------------------------------------------ performance

def performance(m: ServingMeasurement, offer: Offer) -> Performance | str:
    """How one instance of ``offer`` runs the measured model, or why it cannot."""
    if offer.kind == "cpu":
        return _cpu_performance(m, offer)
    return _gpu_performance(m, offer)


def _cpu_performance(m: ServingMeasurement, o: Offer) -> Performance | str:
    if m.device_kind != "cpu":
        return "the pilot measured on a GPU, so a CPU instance is not sized from it"
    assert o.vcpus is not None and o.memory_gb is not None
    room = o.memory_gb - OS_MEMORY_GB
    workers = int((room / m.memory_gb).to_integral_value(rounding=ROUND_FLOOR)) if room > 0 else 0
    if workers < 1:
        return (f"does not fit: one model process needs ~{m.memory_gb:.2f} GB, the instance has "
                f"{o.memory_gb} GB ({OS_MEMORY_GB} GB kept for the system)")
    vcpus = D(o.vcpus)
    used = min(vcpus, D(workers * m.threads))  # vCPUs that model processes can use
    slow = max(D(1), D(m.threads) / vcpus)     # fewer vCPUs than measured: one process, slower
    notes = [f"one model process per {m.threads} vCPU(s) as measured ({min(workers, max(1, o.vcpus // m.threads))} "
             f"on {o.vcpus} vCPUs, {m.memory_gb:.2f} GB each); throughput scales with vCPUs, "
             f"another CPU x{CPU_BAND[0]}-x{CPU_BAND[2]}"]
    if m.length_scale != 1:
        notes.append(f"service time scaled x{m.length_scale:.2f} for the planned request length")
    if o.cpu_arch and o.cpu_arch != "x86_64":
        notes.append(f"{o.cpu_arch} CPU: measured on x86_64, the band may not cover it")
    service, rps = {}, {}
    for b, thr in sorted(m.throughput.items()):
        if thr <= 0:
            continue
        per_process = thr / m.length_scale
        rps[b] = per_process * used / D(m.threads)
        service[b] = (D(b) / per_process) * slow
    service[1] = m.latency_p95_ms / 1000 * m.length_scale * slow
    if 1 not in rps:
        rps[1] = used / D(m.threads) / service[1]
    return Performance(calibrated=True, service_s=service, rps=rps, band=CPU_BAND, notes=notes)


def _gpu_performance(m: ServingMeasurement, o: Offer) -> Performance | str:
    if m.cpu_only or m.params <= 0:
        return "a CPU-only model (nothing for a GPU to do)"
    assert o.gpu_tflops is not None and o.gpu_bandwidth_gbs is not None and o.gpu_memory_gb is not None
    weights_gb = D(m.params) * 2 / D(10) ** 9 * D("1.2")
    if weights_gb + 1 > o.gpu_memory_gb * o.min_gpus:
        return f"does not fit: ~{weights_gb:.1f} GB of bf16 weights on {o.min_gpus} x {o.gpu_memory_gb} GB"
    if m.device_kind == "cuda" and m.gpu_id == o.gpu_id:
        # measured on this very GPU: the measurement is the performance
        service = {b: D(b) / thr / m.length_scale for b, thr in m.throughput.items() if thr > 0}
        service[1] = m.latency_p95_ms / 1000 * m.length_scale
        rps = {b: thr / m.length_scale * o.min_gpus for b, thr in m.throughput.items() if thr > 0}
        rps.setdefault(1, o.min_gpus / service[1])
        return Performance(calibrated=True, service_s=service, rps=rps, band=CPU_BAND,
                           notes=[f"measured on {o.gpu_id}"])
    flops = 2 * D(m.params) * max(m.tokens_per_request, 1) * m.length_scale
    peak = o.gpu_tflops * D(10) ** 12
    mfu = GPU_MFU[1]
    step = 2 * D(m.params) / (o.gpu_bandwidth_gbs * D(10) ** 9 * GPU_DECODE_BW_EFF)
    service, rps = {}, {}
    for b in GPU_BATCH_SIZES:
        decode = m.output_tokens * max(step, b * 2 * D(m.params) / (peak * mfu))
        s = GPU_BATCH_OVERHEAD_S + b * flops / (peak * mfu) + decode
        service[b] = s
        rps[b] = D(b) / s * o.min_gpus
    band = (GPU_MFU[0] / mfu, D(1), GPU_MFU[2] / mfu)
    notes = [f"uncalibrated GPU roofline: {2 * m.params * max(m.tokens_per_request, 1) / 1e9:.2f} GFLOP per "
             f"request at {mfu:.0%} of {o.gpu_tflops} TFLOP/s (band {GPU_MFU[0]:.0%}-{GPU_MFU[2]:.0%}), "
             f"+{GPU_BATCH_OVERHEAD_S * 1000:.0f} ms per batch"
             + (f", {m.output_tokens} generated tokens at {GPU_DECODE_BW_EFF:.0%} of "
                f"{o.gpu_bandwidth_gbs} GB/s" if m.output_tokens else "")]
    return Performance(calibrated=False, service_s=service, rps=rps, band=band, notes=notes)


# ----------------------------------------------------------------------------------------- sizing

def _ceil(x: Decimal) -> int:
    return int(x.to_integral_value(rounding=ROUND_CEILING))


def _instances(perf: Performance, load: Load, factor: Decimal) -> tuple[int, int, Decimal] | str:
    """(instances, batch size, predicted p95 seconds) at throughput x``factor``, or why not."""
    objective = load.latency_p95_ms / 1000
    lam = load.peak_rps
    best: tuple[int, int, Decimal] | None = None
    fastest = None
    for b in sorted(perf.rps):
        thr, s = perf.rps[b] * factor, perf.service_s[b] / factor
        fastest = s if fastest is None else min(fastest, s)
        if s >= objective:
            continue
        rho_max = min(RHO_CAP, 1 - s / objective)
        n = max(1, _ceil(lam / (thr * rho_max))) if lam > 0 else 1
        if n > MAX_INSTANCES:
            continue
        rho = lam / (n * thr)
        fill = D(b - 1) / (lam / n) if b > 1 and lam > 0 else D(0)
        latency = fill + s / (1 - rho)
        if b > 1 and latency > objective:
            continue  # at this traffic a batch of b does not fill in time
        if best is None or (n, b) < (best[0], best[1]):
            best = (n, b, latency)
    if best is None:
        if fastest is not None and fastest >= objective:
            return (f"cannot meet the p95 objective of {load.latency_p95_ms} ms: one request takes "
                    f"~{fastest * 1000:.0f} ms here")
        return f"needs more than {MAX_INSTANCES:,} instances"
    return best


def size(perf: Performance, offer: Offer, load: Load) -> Sizing:
    """Instances (low/expected/high), utilisation and monthly cost of ``offer`` for ``load``."""
    lo_f, mid_f, hi_f = perf.band
    mid = _instances(perf, load, mid_f)
    base = {"offer": offer.id, "label": offer.label, "kind": offer.kind, "calibrated": perf.calibrated}
    if isinstance(mid, str):
        return Sizing(**base, feasible=False, reason=mid, notes=perf.notes)
    fast, slow = _instances(perf, load, hi_f), _instances(perf, load, lo_f)
    n, b, latency = mid
    n_lo = fast[0] if not isinstance(fast, str) else n
    n_hi = slow[0] if not isinstance(slow, str) else n
    notes = list(perf.notes)
    if isinstance(slow, str):
        notes.append(f"at the slow end of the band: {slow}")
    thr = perf.rps[b] * mid_f
    unit = offer.usd_per_hour * offer.min_gpus if offer.kind == "gpu" else offer.usd_per_hour
    per_month = unit * HOURS_PER_MONTH
    if offer.monthly_cap_usd is not None and offer.monthly_cap_usd < per_month:
        per_month = offer.monthly_cap_usd
        notes.append(f"billing capped at ${offer.monthly_cap_usd} per instance and month")
    count = Range.of(n_lo, n, max(n_hi, n))
    rho_peak = load.peak_rps / (n * thr)
    return Sizing(**base, feasible=True, batch_size=b, instances=count,
                  latency_p95_ms=(latency * 1000).quantize(D("0.1")),
                  utilisation_peak=rho_peak.quantize(D("0.0001")),
                  utilisation_mean=(load.mean_rps / (n * thr)).quantize(D("0.0001")),
                  headroom=(1 - rho_peak).quantize(D("0.0001")), capacity_rps=thr.quantize(D("0.001")),
                  monthly_usd=count.times(per_month).q(), notes=notes)


def monthly_cost(perf: Performance, offer: Offer, load: Load) -> Range | None:
    """USD for one month of ``load`` on ``offer`` (None when it cannot be served)."""
    s = size(perf, offer, load)
    return s.monthly_usd if s.feasible else None


def describe(s: Sizing, load: Load) -> str:
    """One line: the sizing with its figures and rule."""
    if not s.feasible:
        return f"{s.label}: {s.reason}"
    assert s.instances is not None and s.utilisation_peak is not None
    n = s.instances
    count = f"{n.expected}" + (f" ({n.low}-{n.high})" if n.low != n.high else "")
    return (f"{s.label}: {count} instance(s) up all month; peak {load.peak_rps * 3600:,.0f} requests/h "
            f"({load.peak_factor}x the mean) at {s.utilisation_peak:.1%} busy (headroom {s.headroom:.0%}), "
            f"predicted p95 {s.latency_p95_ms} ms at batch {s.batch_size} vs the objective "
            f"{load.latency_p95_ms} ms" + ("" if s.calibrated else "; uncalibrated"))
