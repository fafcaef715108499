"""A locally piloted model priced as deployed: serving sized on every eligible hourly offer from the
pilot's measured throughput and latency, the cheapest offer that meets the latency objective
chosen, and (re)training priced at the pilot's measured training time on a CPU instance."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from tunewise._money import usd
from tunewise.catalog import Catalog, Price
from tunewise.errors import BadInputError
from tunewise.estimate import serving as S
from tunewise.estimate._ledger import Ledger
from tunewise.estimate._priced import Priced, not_possible
from tunewise.estimate.candidate import Candidate
from tunewise.estimate.models import Traffic
from tunewise.estimate.ranges import HOURS_Q, Range

D = Decimal
# measured training time -> billed hours: (factor, setup hours) for low / expected / high
TRAIN_TIME_BAND = ((D("0.8"), D("0.05")), (D(1), D("0.1")), (D("1.5"), D("0.25")))
OFFERS_SHOWN = 6


class LocalMeasurement(BaseModel):
    """The pilot's figures the pricing needs (built by the caller from pilot.json)."""

    model_config = ConfigDict(frozen=True)

    serving: S.ServingMeasurement
    train_seconds: Decimal | None = Field(None, ge=0, description="measured training wall time; None: no training")
    train_examples: int = Field(0, ge=0, description="examples the pilot trained on")
    full_examples: int = Field(0, ge=0, description="examples a production training run would use")


def offers(catalog: Catalog) -> list[S.Offer]:
    """Every on-demand CPU instance and GPU-hour offer in force and available on the catalog date
    (user-given internal rates too), as sizing offers."""
    from tunewise.catalog.lifecycle import REFUSED, assess

    out: list[S.Offer] = []
    for kind in ("instance-hour", "gpu-hour"):
        for p in catalog.hourly_offers(kind):
            if (p.market != "on-demand" or p.gpu_only) and not p.user:
                continue  # spot/marketplace prices move hourly; a GPU-alone price lacks the machine it needs
            lc = catalog.offer_lifecycle(p)
            if lc is not None and any(f.severity == REFUSED for f in assess(lc, p.key, catalog.as_of)):
                continue
            out.append(cpu_offer(p) if kind == "instance-hour" else gpu_offer(catalog, p))
    return out


def cpu_offer(p: Price) -> S.Offer:
    return S.Offer(id=p.id, kind="cpu", usd_per_hour=p.usd, vcpus=p.vcpus, memory_gb=p.memory_gb,
                   cpu_arch=p.cpu_arch, monthly_cap_usd=p.monthly_cap_usd,
                   label=f"{p.provider}/{p.model} ({p.vcpus} vCPU, {p.memory_gb} GB, ${p.usd}/h)")


def gpu_offer(catalog: Catalog, p: Price) -> S.Offer:
    g = catalog.gpu(p.model)
    min_gpus = p.min_gpus or 1
    inst = f" {p.instance}" if p.instance else ""
    return S.Offer(id=p.id, kind="gpu", usd_per_hour=p.usd, gpu_id=g.id, gpu_tflops=g.bf16_dense_tflops,
                   gpu_memory_gb=g.memory_gb, gpu_bandwidth_gbs=g.memory_bandwidth_gbs, min_gpus=min_gpus,
                   label=f"{p.provider} {g.id}{inst} ({p.market}, ${p.usd}/GPU-h"
                         + (f" x{min_gpus}" if min_gpus > 1 else "") + ")")


def _pinned(c: Candidate, catalog: Catalog) -> S.Offer | None:
    if c.opt("cpu"):
        return cpu_offer(catalog.cpu_instance(c.opt("cpu") or ""))
    if c.gpu and c.offer:
        p = catalog.gpu_offer(c.gpu, c.offer)
        return gpu_offer(catalog, p)
    return None


def price_local(c: Candidate, m: LocalMeasurement, traffic: Traffic, catalog: Catalog, ledger: Ledger,
                *, peak_factor: Decimal, latency_p95_ms: Decimal, months: int = 12) -> Priced:
    """Serving + (re)training of a locally piloted model, priced as deployed."""
    load = S.Load(requests_per_month=traffic.requests_per_month, peak_factor=peak_factor,
                  latency_p95_ms=latency_p95_ms)
    pinned = _pinned(c, catalog)
    pool = [pinned] if pinned is not None else offers(catalog)
    if not pool:
        return not_possible("no hourly CPU or GPU offer in the catalog to serve it on")
    ledger.note(f"serving sized from the pilot's measurement ({m.serving.source}): p95 "
                f"{m.serving.latency_p95_ms} ms at batch size 1"
                + (f" (n={m.serving.latency_n})" if m.serving.latency_n else "") + ", throughput "
                + ", ".join(f"{v:.1f}/s at batch {b}" for b, v in sorted(m.serving.throughput.items())))
    ledger.note(f"peak hour = {peak_factor}x the mean hourly rate; at most {S.RHO_CAP:.0%} busy at peak; "
                f"p95 objective {latency_p95_ms} ms; whole instances billed {S.HOURS_PER_MONTH} h/month")
    sized: list[tuple[S.Offer, S.Performance, S.Sizing, Range]] = []
    rejected: list[S.Sizing] = []
    for o in pool:
        perf = S.performance(m.serving, o)
        if isinstance(perf, str):
            rejected.append(S.Sizing(offer=o.id, label=o.label, kind=o.kind, calibrated=False,
                                     feasible=False, reason=perf))
            continue
        s = S.size(perf, o, load)
        if not s.feasible:
            rejected.append(s)
            continue
        horizon = _horizon_cost(perf, o, load, traffic, months)
        if horizon is None:
            rejected.append(s.model_copy(update={"feasible": False,
                                                 "reason": "cannot serve the traffic of a later month"}))
            continue
        sized.append((o, perf, s, horizon))
    if not sized:
        reasons = "; ".join(f"{r.label}: {r.reason}" for r in rejected[:3])
        return not_possible(f"no offer can serve it within the p95 objective of {latency_p95_ms} ms "
                            f"({reasons})", status="does-not-fit",
                            serving={"chosen": None, "pinned": pinned is not None,
                                     "rejected": [r.model_dump(mode="json") for r in rejected[:OFFERS_SHOWN]]})
    sized.sort(key=lambda t: (t[3].expected, t[2].latency_p95_ms or 0, t[0].id))
    o, perf, chosen, _ = sized[0]
    price = _price_of(catalog, o)
    ledger.use(price, "serving instance-hour" if o.kind == "cpu" else "serving GPU-hour")
    ledger.note("serving: " + S.describe(chosen, load)
                + ("" if pinned is None else " (pinned by the plan)"))
    for n in chosen.notes:
        ledger.note(f"serving: {n}")
    if pinned is None and len(sized) > 1:
        alt = sized[1]
        ledger.note(f"next cheapest offer: {alt[2].label} at {usd(alt[3].expected)} over {months} months")

    def monthly(requests: Decimal) -> dict[str, Range]:
        cost = S.monthly_cost(perf, o, load.with_requests(requests))
        if cost is None:  # beyond what the offer serves: the last feasible count keeps being billed
            cost = chosen.monthly_usd or Range.zero()
        return {"inference": cost}

    train = _training(m, catalog, ledger)
    others = [{"offer": s.offer, "label": s.label, "kind": s.kind, "calibrated": s.calibrated,
               "instances": s.instances, "monthly_usd": s.monthly_usd, "horizon_usd": h,
               "latency_p95_ms": s.latency_p95_ms, "utilisation_peak": s.utilisation_peak}
              for _, _, s, h in sized[:OFFERS_SHOWN]]
    extra = {"serving": {"chosen": chosen.model_dump(mode="json"), "pinned": pinned is not None,
                         "peak_factor": str(peak_factor), "latency_objective_ms": str(latency_p95_ms),
                         "peak_requests_per_hour": str((load.peak_rps * 3600).quantize(D("0.1"))),
                         "offers": others,
                         "rejected": [r.model_dump(mode="json") for r in rejected[:OFFERS_SHOWN]],
                         "measurement": m.serving.model_dump(mode="json")},
             "serve_gpu_hours_per_month": None,
             "tokens_per_request": {"input": traffic.input_tokens, "output": traffic.output_tokens}}
    return Priced(train=train, monthly=monthly, calibrated=chosen.calibrated, extra=extra)


def _horizon_cost(perf: S.Performance, o: S.Offer, load: S.Load, traffic: Traffic, months: int) -> Range | None:
    total = Range.zero()
    for month in range(1, months + 1):
        cost = S.monthly_cost(perf, o, load.with_requests(traffic.requests_in_month(month)))
        if cost is None:
            return None
        total = total + cost
    return total


def _price_of(catalog: Catalog, o: S.Offer) -> Price:
    for kind in ("instance-hour", "gpu-hour"):
        for p in catalog.hourly_offers(kind):
            if p.id == o.id:
                return p
    raise BadInputError(f"offer {o.id} vanished from the catalog")  # pragma: no cover


def _training(m: LocalMeasurement, catalog: Catalog, ledger: Ledger) -> Range | None:
    """One production training run: measured seconds scaled to the full data, on the cheapest CPU
    instance with at least the measured thread count (billed hours incl. setup)."""
    if m.train_seconds is None:
        ledger.note("no training: the model is used as it is (prompted or rule-free)")
        return None
    if m.serving.device_kind != "cpu":
        ledger.note("training measured on a GPU: retraining is priced at the measured time on the same GPU offer")
    threads = m.serving.threads
    cpus = [p for p in catalog.hourly_offers("instance-hour") if p.market == "on-demand"
            and (p.vcpus or 0) >= threads and (p.memory_gb or 0) >= m.serving.memory_gb * 2 + S.OS_MEMORY_GB]
    if not cpus:
        ledger.note("training not priced: no CPU instance in the catalog with "
                    f">= {threads} vCPUs and enough memory")
        return Range.zero()
    p = min(cpus, key=lambda x: (x.usd, x.id))
    ledger.use(p, "training instance-hour")
    scale = D(m.full_examples) / D(m.train_examples) if m.train_examples and m.full_examples else D(1)
    hours = m.train_seconds * scale / 3600
    (f_lo, s_lo), (f_mid, s_mid), (f_hi, s_hi) = TRAIN_TIME_BAND
    billed = Range.of(hours * f_lo + s_lo, hours * f_mid + s_mid, hours * f_hi + s_hi).q(HOURS_Q)
    ledger.note(f"training: {m.train_seconds:.1f} s measured on {m.train_examples:,} examples"
                + (f", x{scale:.2f} for all {m.full_examples:,}" if scale != 1 else "")
                + f" = {hours * 3600:.0f} s on {p.provider}/{p.model} (band x{f_lo}-x{f_hi}, +{s_mid} h setup)")
    return billed.times(p.usd).q()
