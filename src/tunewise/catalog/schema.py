"""Strict schema of catalog data files (pydantic, ``extra='forbid'``).

Three file types, told apart by ``type``:

* ``provider``    - one API provider or GPU market: models it fine-tunes/serves and dated prices.
* ``gpu-specs``   - GPU hardware facts: memory, dense bf16 FLOP/s, memory bandwidth.
* ``open-models`` - open model families for self-hosting: sizes and shapes.

Money is ``Decimal`` (the YAML reader turns every number with a dot into Decimal, never float).
"""

from __future__ import annotations

import re
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
Market = Literal["on-demand", "spot", "marketplace", "capacity-block", "dedicated", "internal"]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=80)]
ModelId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$", max_length=120)]
PositiveDecimal = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
AliasId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$", max_length=160)]
SourceUrl = Annotated[str, Field(pattern=r"^https?://\S+$")]

_BAND = re.compile(r"^upto-(\d+(?:\.\d+)?)b$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    tuned_inference: Literal["own", "base"] = "own"
    hosting: Literal["none", "hourly"] = Field(
        "none", description="'hourly': a deployed fine-tuned model bills a hosting-hour fee, used or not")
    training: TrainingRules | None = None
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
        if self.monthly_cap_usd is not None and not cpu:
            raise ValueError("'monthly_cap_usd' only applies to instance-hour prices")
        for name in ("vcpus", "memory_gb", "cpu_arch"):
            if cpu and getattr(self, name) is None:
                raise ValueError(f"'{name}' is required for instance-hour prices (what one instance holds)")
            if not cpu and getattr(self, name) is not None:
                raise ValueError(f"'{name}' only applies to instance-hour prices")
        return self

    @property
    def size_band_max_b(self) -> Decimal | None:
        """For size-band entries (model 'upto-16b'), the largest model size covered, in billions."""
        m = _BAND.match(self.model)
        return Decimal(m.group(1)) if m else None

    def sort_key(self) -> tuple[str, ...]:
        return (self.model, self.kind, self.market or "", self.objective or "", self.method or "",
                self.effective_from.isoformat())


class ProviderFile(_Strict):
    type: Literal["provider"]
    schema_version: Literal[1]
    provider: Slug
    name: str
    url: SourceUrl
    notes: list[str] = []
    training_rules: TrainingRules | None = None
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
    """An open-weights model one can fine-tune and host oneself."""

    id: Slug
    family: str
    hf_id: str
    architecture: Literal["decoder", "encoder"] = "decoder"
    params: int = Field(gt=0)
    layers: int = Field(gt=0)
    hidden: int = Field(gt=0)
    heads: int = Field(gt=0)
    kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    intermediate: int = Field(gt=0)
    vocab: int = Field(gt=0)
    context: int = Field(gt=0)
    license: str
    tokenizer: str | None = Field(None, description="the audit's name for this model's tokenizer, if it has one")
    source_url: SourceUrl
    checked_on: date
    confidence: Confidence
    note: str = ""


class OpenModelsFile(_Strict):
    type: Literal["open-models"]
    schema_version: Literal[1]
    models: list[OpenModel]


CatalogFile = Annotated[ProviderFile | GpuSpecsFile | OpenModelsFile, Field(discriminator="type")]
