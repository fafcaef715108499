"""Inputs (traffic, horizon, calibration) and the result type of an estimate."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tunewise.catalog.lifecycle import LifecycleFact
from tunewise.errors import BadInputError, Problem
from tunewise.estimate.ranges import Range


class Traffic(BaseModel):
    """Expected production traffic. Tokens are per request; growth is % per month, compounding."""

    model_config = ConfigDict(frozen=True)

    requests_per_month: Decimal = Field(ge=0, allow_inf_nan=False)
    input_tokens: Decimal = Field(ge=0, allow_inf_nan=False)
    output_tokens: Decimal = Field(ge=0, allow_inf_nan=False)
    growth_pct_per_month: Decimal = Field(Decimal(0), ge=-100, allow_inf_nan=False)

    def requests_in_month(self, month: int) -> Decimal:
        """Requests in month ``month`` (1-based): r0 * (1 + g)^(month-1)."""
        factor = (1 + self.growth_pct_per_month / 100) ** (month - 1)
        return self.requests_per_month * factor


class ServingPolicy(BaseModel):
    """How served models are sized: the peak-hour factor and the p95 latency objective."""

    model_config = ConfigDict(frozen=True)

    peak_factor: Decimal = Field(Decimal(3), ge=1, allow_inf_nan=False, description="peak-hour rate / mean rate")
    latency_p95_ms: Decimal = Field(Decimal(500), gt=0, allow_inf_nan=False)


class Horizon(BaseModel):
    """How long the deployment is costed for, and how often the model is retrained."""

    model_config = ConfigDict(frozen=True)

    months: int = Field(12, ge=1, le=120)
    retrains_per_year: int = Field(0, ge=0, le=365)

    def retrain_months(self, until: int | None = None) -> list[int]:
        """End-of-month indices at which a retrain is paid (the initial training is month 0)."""
        last = until if until is not None else self.months
        if self.retrains_per_year == 0:
            return []
        out, k = [], 1
        while True:
            m = (12 * k) // self.retrains_per_year
            if m >= last:
                return out
            if m >= 1:
                out.append(m)
            k += 1


class Calibration(BaseModel):
    """A measurement from a pilot run: throughput of a model family on some hardware.

    Accepts the pilot's dict ``{"family", "params", "tokens_per_s", "achieved_flops", "mfu",
    "hardware"}``; ``inference_tokens_per_s`` (decode tokens/s per GPU) is optional. A pilot also
    says where and how it measured: ``device_kind`` ('cpu' | 'cuda'), ``gpu_id`` (catalog GPU id or
    None), ``method``, ``train_dtype`` and ``flops_convention`` (``n``: 'total' parameters, ``peak``:
    'bf16-datasheet' or, on a CPU, 'measured-fp32-matmul'); the self-host estimate applies it only
    where these say it transfers (``selfhost._refusal``).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    family: str
    params: int = Field(gt=0)
    hardware: str
    tokens_per_s: Decimal | None = Field(None, gt=0, allow_inf_nan=False)
    achieved_flops: Decimal | None = Field(None, gt=0, allow_inf_nan=False)
    mfu: Decimal | None = Field(None, gt=0, le=1, allow_inf_nan=False)
    inference_tokens_per_s: Decimal | None = Field(None, gt=0, allow_inf_nan=False)
    device_kind: Literal["cpu", "cuda"] | None = None
    gpu_id: str | None = None
    method: str | None = None
    train_dtype: str | None = None
    flops_convention: dict[str, str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _floats_to_decimal(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: (Decimal(repr(v)) if isinstance(v, float) else v) for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _some_measure(self) -> Calibration:
        if self.tokens_per_s is None and self.achieved_flops is None and self.mfu is None:
            raise ValueError("needs at least one of tokens_per_s, achieved_flops, mfu")
        return self

    @classmethod
    def from_file(cls, path: Path) -> list[Calibration]:
        """Read one calibration object or a list of them from a JSON file."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BadInputError(f"calibration file not found: {path}",
                                fix="Pass the JSON written by the pilot") from None
        except json.JSONDecodeError as exc:
            raise BadInputError("calibration file is not valid JSON", where=f"{path}:{exc.lineno}",
                                why=exc.msg, fix="Pass the JSON written by the pilot") from None
        items = data if isinstance(data, list) else [data]
        out, problems = [], []
        for i, item in enumerate(items):
            try:
                out.append(cls.model_validate(item))
            except ValidationError as exc:
                for e in exc.errors(include_url=False):
                    loc = ".".join(str(p) for p in e["loc"]) or "(object)"
                    problems.append(Problem(str(path), None, f"[{i}] {loc}: {e['msg']}"))
        if problems:
            raise BadInputError("calibration file does not match the expected shape", where=str(path),
                                why=f"{len(problems)} problem(s)",
                                fix='Expected {"family", "params", "hardware", "tokens_per_s" | '
                                    '"achieved_flops" | "mfu"}', problems=problems)
        return out


class PriceUsed(BaseModel):
    """A catalog price an estimate used, with what it priced and whether it is stale."""

    model_config = ConfigDict(frozen=True)

    id: str
    role: str
    usd: Decimal
    unit: str
    effective_from: date
    checked_on: date
    source_url: str
    confidence: str
    stale: bool
    stale_reason: str | None = None
    user: bool = False


class CostPart(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    usd: Range


class MemoryFit(BaseModel):
    model_config = ConfigDict(frozen=True)

    needed_gb_per_gpu: Decimal
    available_gb_per_gpu: Decimal
    fits: bool
    breakdown_gb: dict[str, Decimal]
    gradient_checkpointing: bool


Status = Literal["ok", "does-not-fit", "not-possible", "unavailable"]


class Estimate(BaseModel):
    """The priced result for one candidate. Money in USD (Decimal), tokens as counts.

    ``train_usd``: one training run. ``monthly_usd``: the run cost of month 1 (inference, hosting,
    storage; later months grow with traffic, see ``monthly_series_usd``). ``tco_usd``: training,
    retraining and every month of the horizon; it is exactly the sum of ``parts``. Ranges are
    low / expected / high. ``status`` is 'ok', 'does-not-fit' (memory), 'not-possible' (a provider
    rule such as a minimum number of examples) or 'unavailable' (the offer is shut down, not yet
    available or takes no new jobs on the pricing date); then ``reason`` says why and costs are None.
    ``lifecycle``: the offer's lifecycle facts on the pricing date (``tunewise.catalog.lifecycle.LifecycleFact``:
    severity 'refused', 'warning' or 'info'). For a fine-tune
    ``new_jobs_until`` is the date the provider stops taking new fine-tuning jobs (when the catalog
    knows one); retrains planned on or after it are impossible and not priced: their month indices
    are in ``retrains_not_priced`` (the fine-tuned model is costed as kept unchanged).
    ``break_even_month``: first month whose cumulative cost is at or below the prompting baseline's
    (0 = cheaper from the start; may exceed the horizon; None = not within 10 years).
    """

    candidate: str
    kind: str
    status: Status = "ok"
    reason: str | None = None
    train_usd: Range | None = None
    monthly_usd: Range | None = None
    tco_usd: Range | None = None
    parts: list[CostPart] = []
    billed_tokens: Range | None = None
    epochs: int | None = None
    train_gpu_hours: Range | None = None
    serve_gpu_hours_per_month: Range | None = None
    memory: MemoryFit | None = None
    tokens_per_request: dict[str, Decimal] = {}
    monthly_series_usd: list[Decimal] = []
    month_ranges: list[Range] = []  # run cost of each month 1..horizon (low / expected / high)
    retrain_months: list[int] = []  # end-of-month indices at which a retrain is paid
    assumptions: list[str] = []
    prices: list[PriceUsed] = []
    break_even_month: int | None = None
    break_even_vs: str | None = None
    break_even_note: str | None = None
    rank: int | None = None
    calibrated: bool = False
    serving: dict[str, Any] | None = None  # local candidates: the sizing (offer, instances, utilisation)
    lifecycle: list[LifecycleFact] = []
    new_jobs_until: date | None = None
    retrains_not_priced: list[int] = []

    @property
    def feasible(self) -> bool:
        return self.status == "ok"

    @property
    def stale_prices(self) -> list[PriceUsed]:
        return [p for p in self.prices if p.stale]
