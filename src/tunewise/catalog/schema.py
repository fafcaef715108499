"""Strict schema of catalog data files (pydantic, ``extra='forbid'``).

Four file types, told apart by ``type``:

* ``provider``    - one API provider or GPU market: models it fine-tunes/serves and dated prices.
* ``providers``   - several providers in one file (what ``tunewise catalog sync`` writes).
* ``gpu-specs``   - GPU hardware facts: memory, dense bf16 FLOP/s, memory bandwidth.
* ``open-models`` - open model families for self-hosting: sizes and shapes.

Offers have a **lifecycle** (``lifecycle:`` on a provider, a model or a price entry): when they
became available, when new (fine-tuning) jobs end, when they shut down, who may still use them,
and what replaces them. Every lifecycle fact carries its own source, check date and confidence.
End dates are exclusive, like ``effective_until``: ``shutdown_on: 2026-10-23`` means usable up to
2026-10-22 and gone from 2026-10-23 on; ``new_jobs_until: 2027-01-06`` means no new job can be
created on or after 2027-01-06.

Money is ``Decimal`` (the YAML reader turns every number with a dot into Decimal, never float).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_VERSION = 1

TRAINING_KINDS = ("training", "training-hour")
INFERENCE_KINDS = (
    "base-input", "base-output", "base-cached-input", "base-batch-input", "base-batch-output",
    "tuned-input", "tuned-output", "tuned-cached-input", "tuned-batch-input", "tuned-batch-output",
)
FEE_KINDS = ("job-minimum", "hosting-hour", "storage-month")
GPU_KINDS = ("gpu-hour",)
CPU_KINDS = ("instance-hour",)  # a whole CPU-only instance (vCPUs + memory), billed per hour it is up
KINDS = TRAINING_KINDS + INFERENCE_KINDS + FEE_KINDS + GPU_KINDS + CPU_KINDS
KIND_GROUPS = {"training": TRAINING_KINDS, "inference": INFERENCE_KINDS, "fee": FEE_KINDS,
               "gpu": GPU_KINDS, "cpu": CPU_KINDS}

# The one unit each kind is priced in; files must say it, so a reader never has to guess.
UNIT_OF_KIND = {
    **{k: "1M tokens" for k in ("training",) + INFERENCE_KINDS},
    "training-hour": "training hour",
    "job-minimum": "job",
    "hosting-hour": "deployment hour",
    "storage-month": "model-month",
    "gpu-hour": "GPU-hour",
    "instance-hour": "instance-hour",
}

Kind = Literal[KINDS]  # type: ignore[valid-type]
Confidence = Literal["P", "P-data", "S", "R", "user"]
Market = Literal["on-demand", "spot", "community", "marketplace", "capacity-block", "dedicated", "internal"]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=80)]
ModelId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$", max_length=120)]
PositiveDecimal = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
AliasId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$", max_length=160)]
SourceUrl = Annotated[str, Field(pattern=r"^https?://\S+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LifecycleDate(_Strict):
    """One dated lifecycle fact and where it comes from."""

    date: date
    source_url: SourceUrl
    checked_on: date
    confidence: Confidence
    note: str = ""


class Restriction(_Strict):
    """Who may still use an offer from a date on (e.g. 'organisations that have fine-tuned before')."""

    since: date
    who: str = Field(min_length=3, description="who may still use it, e.g. 'existing customers only'")
    applies_to: Literal["new-jobs", "all"] = Field(
        "new-jobs", description="'new-jobs': creating fine-tuning jobs; 'all': any use of the offer")
    source_url: SourceUrl
    checked_on: date
    confidence: Confidence
    note: str = ""


class Replacement(_Strict):
    """What the vendor names as the successor. ``id``: a model of the same provider ('gpt-5.4-mini'),
    'PROVIDER/MODEL', or for a price entry a price key ('runpod/h100-80gb/gpu-hour/on-demand')."""

    id: AliasId
    source_url: SourceUrl
    checked_on: date
    confidence: Confidence
    note: str = ""


class Lifecycle(_Strict):
    """When an offer exists. All dates optional; end dates exclusive (see the module docstring)."""

    available_from: LifecycleDate | None = None
    new_jobs_until: LifecycleDate | None = None
    shutdown_on: LifecycleDate | None = None
    restrictions: list[Restriction] = []
    replacement: Replacement | None = None
    note: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Lifecycle:
        start = self.available_from.date if self.available_from else None
        jobs = self.new_jobs_until.date if self.new_jobs_until else None
        end = self.shutdown_on.date if self.shutdown_on else None
        if start and jobs and not start < jobs:
            raise ValueError(f"new_jobs_until ({jobs}) must be after available_from ({start})")
        if start and end and not start < end:
            raise ValueError(f"shutdown_on ({end}) must be after available_from ({start})")
        if jobs and end and not jobs <= end:
            raise ValueError(f"new_jobs_until ({jobs}) must not be after shutdown_on ({end})")
        for r in self.restrictions:
            if start and r.since < start:
                raise ValueError(f"restriction since {r.since} is before available_from ({start})")
            if end and not r.since < end:
                raise ValueError(f"restriction since {r.since} is not before shutdown_on ({end})")
        since = [r.since for r in self.restrictions]
        if since != sorted(since):
            raise ValueError("restrictions must be sorted by 'since'")
        return self

    def over(self, base: Lifecycle | None) -> Lifecycle:
        """This lifecycle, each missing field taken from ``base`` (a provider-wide default)."""
        if base is None:
            return self
        start = self.available_from or base.available_from
        end = self.shutdown_on or base.shutdown_on
        jobs = self.new_jobs_until or base.new_jobs_until
        if jobs is not None and end is not None and jobs.date > end.date:
            jobs = None  # a provider-wide end of new jobs after this offer's own shutdown does not apply
        if jobs is not None and start is not None and jobs.date <= start.date:
            jobs = None
        rules = self.restrictions or [r for r in base.restrictions
                                      if (end is None or r.since < end.date)
                                      and (start is None or r.since >= start.date)]
        return Lifecycle(available_from=start, new_jobs_until=jobs, shutdown_on=end, restrictions=rules,
                         replacement=self.replacement or base.replacement,
                         note="; ".join(n for n in (self.note, base.note) if n))

    def dates(self) -> list[tuple[str, date]]:
        """(name, date) of every dated fact, in date order."""
        out = [(n, getattr(self, n).date) for n in ("available_from", "new_jobs_until", "shutdown_on")
               if getattr(self, n) is not None]
        out += [(f"restriction ({r.who})", r.since) for r in self.restrictions]
        return sorted(out, key=lambda x: x[1])


class TrainingRules(_Strict):
    """How a provider bills and shapes a fine-tuning job."""

    default_epochs: int = Field(3, ge=1)
    examples_x_epochs: tuple[int, int] | None = None  # keep examples x epochs inside this range
    epochs: tuple[int, int] = (1, 100)
    min_examples: int | None = Field(None, ge=1)
    bills_validation: bool = False
    truncates_at_context: bool = True
    default_method: Literal["lora", "full"] | None = None
    note: str = ""


class ApiModel(_Strict):
    """A model a provider fine-tunes and/or serves."""

    id: ModelId
    aliases: list[AliasId] = []
    fine_tunable: bool = False
    context_limit: int | None = Field(None, gt=0)
    params_b: PositiveDecimal | None = None
    tokenizer: str = Field(description="tiktoken name (o200k_base, cl100k_base) or a family name")
    tuned_inference: Literal["own", "base", "dedicated"] = Field(
        "own", description="how a fine-tune is served: its own token prices, the base model's token prices, "
                           "or only on dedicated GPUs of the provider (market 'dedicated'), billed per GPU-hour")
    hosting: Literal["none", "hourly"] = Field(
        "none", description="'hourly': a deployed fine-tuned model bills a hosting-hour fee, used or not")
    training: TrainingRules | None = None
    lifecycle: Lifecycle | None = None
    note: str = ""


class PriceEntry(_Strict):
    """One dated price as written in a data file (the provider comes from the file)."""

    model: ModelId
    kind: Kind
    usd: PositiveDecimal
    unit: str
    effective_from: date
    effective_until: date | None = None
    source_url: SourceUrl
    checked_on: date
    confidence: Confidence
    market: Market | None = None
    objective: Literal["sft", "dpo", "rft"] | None = None
    method: Literal["lora", "full"] | None = None
    instance: str | None = None
    # CPU instances (kind instance-hour): what one instance holds; ``model`` is the instance type
    vcpus: int | None = Field(None, gt=0, le=1024)
    memory_gb: PositiveDecimal | None = None
    cpu_arch: Literal["x86_64", "arm64"] | None = None
    monthly_cap_usd: PositiveDecimal | None = Field(None, description="hourly billing capped at this per month")
    gpu_only: bool = Field(False, description="gpu-hour: the price of the GPU alone; the machine it needs is extra")
    min_gpus: int | None = Field(None, ge=1, le=64, description="gpu-hour: GPUs rented together at the least "
                                                                  "(an 8-GPU instance or node)")
    lifecycle: Lifecycle | None = None
    note: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> PriceEntry:
        want = UNIT_OF_KIND[self.kind]
        if self.unit != want:
            raise ValueError(f"unit for kind '{self.kind}' must be '{want}', got '{self.unit}'")
        if self.effective_until is not None and self.effective_until <= self.effective_from:
            raise ValueError("effective_until must be after effective_from")
        hourly = self.kind in GPU_KINDS + CPU_KINDS
        if hourly != (self.market is not None):
            raise ValueError("'market' is required for gpu-hour and instance-hour prices and only for them")
        cpu = self.kind in CPU_KINDS
        if self.gpu_only and self.kind != "gpu-hour":
            raise ValueError("'gpu_only' only applies to gpu-hour prices")
        if self.min_gpus is not None and self.kind != "gpu-hour":
            raise ValueError("'min_gpus' only applies to gpu-hour prices")
        if self.monthly_cap_usd is not None and not cpu:
            raise ValueError("'monthly_cap_usd' only applies to instance-hour prices")
        for name in ("vcpus", "memory_gb", "cpu_arch"):
            if cpu and getattr(self, name) is None:
                raise ValueError(f"'{name}' is required for instance-hour prices (what one instance holds)")
            if not cpu and getattr(self, name) is not None:
                raise ValueError(f"'{name}' only applies to instance-hour prices")
        return self

    def sort_key(self) -> tuple[str, ...]:
        return (self.model, self.kind, self.market or "", self.objective or "", self.method or "",
                self.effective_from.isoformat())


class ProviderBody(_Strict):
    """A provider's facts: its models (with lifecycles) and dated prices. ``lifecycle`` here is the
    default for every model of the provider, field by field (a model's own fields win)."""

    provider: Slug
    name: str
    url: SourceUrl
    notes: list[str] = []
    training_rules: TrainingRules | None = None
    lifecycle: Lifecycle | None = None
    models: list[ApiModel] = []
    prices: list[PriceEntry] = []

    @field_validator("models")
    @classmethod
    def _models_unique(cls, v: list[ApiModel]) -> list[ApiModel]:
        names = [m.id for m in v] + [a for m in v for a in m.aliases]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"model ids/aliases listed twice: {', '.join(dup)}")
        return v


class ProviderFile(ProviderBody):
    type: Literal["provider"]
    schema_version: Literal[1]


class ProvidersFile(_Strict):
    """Several providers in one file (``tunewise catalog sync --out FILE`` writes one)."""

    type: Literal["providers"]
    schema_version: Literal[1]
    generated_by: str = ""
    providers: list[ProviderBody]


class GpuSpec(_Strict):
    id: Slug
    name: str
    aliases: list[str] = []
    memory_gb: PositiveDecimal
    bf16_dense_tflops: PositiveDecimal = Field(description="peak dense bf16 (fp16 for T4) TFLOP/s")
    memory_bandwidth_gbs: PositiveDecimal
    source_url: SourceUrl
    checked_on: date
    confidence: Confidence
    note: str = ""


class GpuSpecsFile(_Strict):
    type: Literal["gpu-specs"]
    schema_version: Literal[1]
    gpus: list[GpuSpec]


class OpenModel(_Strict):
    """An open-weights model one can fine-tune and host oneself.

    Mixture-of-experts models give ``experts`` (routed experts per MoE layer), ``experts_active``
    (routed experts per token) and ``active_params`` (parameters used per token, embeddings
    included as for dense models); ``intermediate`` is then one expert's MLP width. Training and
    serving FLOPs use ``active_params``; memory uses ``params`` (every expert is resident).
    """

    id: Slug
    family: str
    hf_id: str
    architecture: Literal["decoder", "encoder"] = "decoder"
    params: int = Field(gt=0)
    active_params: int | None = Field(None, gt=0)
    experts: int | None = Field(None, gt=1)
    experts_active: int | None = Field(None, gt=0)
    layers: int = Field(gt=0)
    hidden: int = Field(gt=0)
    heads: int = Field(gt=0)
    kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    intermediate: int = Field(gt=0)
    vocab: int = Field(gt=0)
    context: int = Field(gt=0)
    license: str
    training_flops: Decimal | None = Field(None, gt=0, allow_inf_nan=False,
                                           description="the base model's pre-training compute in FLOPs (for the "
                                                       "EU AI Act one-third modification ratio)")
    training_flops_source: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = None
    training_flops_note: str = ""
    tokenizer: str | None = Field(None, description="the audit's name for this model's tokenizer, if it has one")
    source_url: Annotated[str, Field(pattern=r"^(https?|file)://\S+$")]
    checked_on: date
    confidence: Confidence
    note: str = ""

    @model_validator(mode="after")
    def _moe(self) -> OpenModel:
        if (self.training_flops is None) != (self.training_flops_source is None):
            raise ValueError("training_flops and training_flops_source go together (a figure needs its source)")
        moe = (self.experts, self.experts_active, self.active_params)
        if any(v is not None for v in moe) and any(v is None for v in moe):
            raise ValueError("a mixture-of-experts model needs experts, experts_active and active_params")
        if self.experts and self.experts_active and self.experts_active > self.experts:
            raise ValueError("experts_active must not exceed experts")
        if self.active_params and self.active_params > self.params:
            raise ValueError("active_params must not exceed params")
        return self

    @property
    def flops_params(self) -> int:
        """Parameters that do work for each token: all of them, or the active ones for MoE."""
        return self.active_params or self.params

    @property
    def is_moe(self) -> bool:
        return self.experts is not None


class OpenModelsFile(_Strict):
    type: Literal["open-models"]
    schema_version: Literal[1]
    models: list[OpenModel]


CatalogFile = Annotated[ProviderFile | ProvidersFile | GpuSpecsFile | OpenModelsFile,
                        Field(discriminator="type")]
