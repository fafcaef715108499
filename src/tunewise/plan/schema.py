"""The plan file's strict schema (pydantic, ``extra='forbid'``).

A plan says which data to use, what "good enough" means, the expected traffic, the horizon, the
budget, and the candidates to compare. Candidates come in four kinds:

* ``local``        - piloted here for real (bundled MiniLM / SmolLM2, TF-IDF + logistic regression, or
                     a local Hugging Face directory): quality is *measured*.
* ``api-finetune`` - a provider fine-tune (e.g. openai gpt-4o-mini): cost *estimated*, quality only
                     what the plan gives (``expected_score`` with its source) or unknown.
* ``selfhost``     - an open model fine-tuned on a rented GPU offer: cost *estimated* (calibrated by a
                     local pilot of the same family), quality user-given or unknown.
* ``prompting``    - an API model prompted with k examples, no training (the usual baseline).

An ``api-finetune`` or ``prompting`` candidate may carry ``endpoint: {base_url, model, api_key_env}``:
its quality is then *measured* by evaluating that OpenAI-compatible endpoint on the test split.

Money is ``Decimal``; the YAML reader never produces floats.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_VERSION = 1

LOCAL_MODELS = ("minilm", "smollm2", "tfidf-logreg")
LOCAL_METHODS = ("full", "lora", "head", "zero-shot", "few-shot", "baseline")
# which methods each bundled local model supports
LOCAL_MODEL_METHODS: dict[str, tuple[str, ...]] = {
    "minilm": ("full", "lora", "head"),
    "smollm2": ("lora", "zero-shot", "few-shot"),
    "tfidf-logreg": ("baseline",),
}
METRICS = ("accuracy", "macro_f1", "micro_f1", "mcc", "exact_match", "token_f1")
CLASSIFICATION_METRICS = ("accuracy", "macro_f1", "micro_f1", "mcc")
GENERATION_METRICS = ("exact_match", "token_f1")
PROMPTING_LOCAL_METHODS = ("zero-shot", "few-shot")

CandidateId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=64,
                                   description="lower-case id: letters, digits, '.', '_', '-'")]
GpuOffer = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+$",
                                description="GPU id @ offer from the catalog, e.g. h100@lambda or l4@runpod")]
CpuOffer = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+$",
                                description="CPU instance from the catalog, e.g. aws/c7i.large")]
Money = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
Score = Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnsSpec(_Strict):
    text: str = "text"
    label: str = "label"
    prompt: str = "prompt"
    completion: str = "completion"
    id: str = "id"


class DataSpec(_Strict):
    """Training data and, optionally, held-out files. Relative paths are relative to the plan file."""

    train: Path
    validation: Path | None = None
    test: Path | None = None
    format: Literal["chat", "completion", "text-label", "sharegpt", "alpaca"] | None = None
    columns: ColumnsSpec = ColumnsSpec()
    license: str | None = Field(None, description="SPDX expression, e.g. Apache-2.0 or LicenseRef-research-use")
    source: str | None = None
    intended_use: Literal["commercial", "internal", "non-commercial", "research", "unknown"] = Field(
        "unknown", description="commercial (a product or service for others), internal (inside your organisation), "
                               "research / non-commercial; gives each candidate a rights verdict")
    drop_test_overlap: bool = Field(False, description="leave test items whose text also occurs in training "
                                                       "out of scoring (the overlap is reported either way)")


class TaskSpec(_Strict):
    kind: Literal["classification", "completion", "chat"] | None = None  # None: from the data format
    metric: Literal[METRICS] = "macro_f1"  # type: ignore[valid-type]
    target: Score | None = Field(None, description="the score that would be good enough (0-1)")


class TrafficSpec(_Strict):
    requests_per_month: int = Field(gt=0, description="expected requests in month 1 (> 0)")
    peak_factor: Decimal = Field(Decimal(3), ge=1, le=1000, allow_inf_nan=False,
                                 description="requests in the busiest hour / the mean hourly rate (>= 1)")
    input_tokens_per_request: int | None = Field(None, gt=0, description="default: audit mean")
    output_tokens_per_request: int | None = Field(None, gt=0, description="default: audit mean")
    growth_per_month: Decimal = Field(Decimal(0), gt=-1, le=10, allow_inf_nan=False,
                                      description="0.05 = +5% per month, compounded")


class ServingSpec(_Strict):
    """How served candidates are sized: the latency objective they must meet at the peak hour."""

    latency_p95_ms: Decimal | None = Field(None, ge=1, le=600_000, allow_inf_nan=False,
                                           description="p95 latency objective per request, in ms (>= 1); default "
                                                       "500 for classification, 5000 for a generated answer")

    def objective_ms(self, task: str | None) -> Decimal:
        """The objective in force: the plan's, else the default for the task."""
        if self.latency_p95_ms is not None:
            return self.latency_p95_ms
        return Decimal(500) if task in (None, "classification") else Decimal(5000)


class DecisionSpec(_Strict):
    """How the measured candidates are compared (see tunewise.decision)."""

    equivalence_margin: Decimal = Field(Decimal("0.01"), ge=0, le=Decimal("0.5"), allow_inf_nan=False,
                                        description="a difference smaller than this is no difference "
                                                    "(0.01 = one point of the metric)")
    alpha: Decimal = Field(Decimal("0.05"), gt=0, lt=Decimal("0.5"), allow_inf_nan=False,
                           description="error rate of the paired comparisons, before the best-of-N correction")
    resamples: int = Field(10_000, ge=1000, le=100_000, description="paired bootstrap resamples")


class BudgetSpec(_Strict):
    training_usd: Money | None = None
    monthly_usd: Money | None = None
    total_usd: Money | None = Field(None, description="training + inference over the horizon")


class PricesSpec(_Strict):
    as_of: date | None = None
    catalog_file: Path | None = None
    stale_after_days: int = Field(180, gt=0)


class PilotSpec(_Strict):
    """Defaults for every local pilot (a candidate may override some)."""

    seed: int = 0
    epochs: Decimal = Field(Decimal(1), gt=0, le=50)
    max_train_examples: int | None = Field(None, gt=0)
    learning_curve: list[Score] = Field(
        default_factory=lambda: [Decimal("0.0625"), Decimal("0.125"), Decimal("0.25"), Decimal("0.5"), Decimal(1)],
        description="data fractions for candidates with learning_curve: true (default five, log-spaced, "
                    "1/16 .. 1; >= 5 give a curve with an interval); [] = off")

    @model_validator(mode="after")
    def _fractions(self) -> PilotSpec:
        fr = self.learning_curve
        if fr and (any(f <= 0 for f in fr) or sorted(set(fr)) != list(fr) or len(fr) < 3):
            raise ValueError("pilot.learning_curve needs >= 3 fractions in (0, 1], increasing and unique "
                             "(>= 5 to fit a curve with an interval), e.g. [0.0625, 0.125, 0.25, 0.5, 1.0]")
        return self


class ExpectedScore(_Strict):
    """A quality figure the plan's author brings (not measured here); shown as user-given."""

    value: Score
    source: str = Field(min_length=3, description="where the figure comes from (paper, vendor eval, past run)")


class ServeSpec(_Strict):
    """Pins where a locally piloted model is served (default: the cheapest offer that meets the
    latency objective, sized from the pilot's measured throughput)."""

    gpu: GpuOffer | None = None
    cpu: CpuOffer | None = None
    gpus: int = Field(1, ge=1, le=64)

    @model_validator(mode="after")
    def _one(self) -> ServeSpec:
        if (self.gpu is None) == (self.cpu is None):
            raise ValueError("serve pins one offer: give either 'gpu: ID@OFFER' or 'cpu: PROVIDER/INSTANCE'")
        return self


class EndpointSpec(_Strict):
    """An OpenAI-compatible chat-completions endpoint serving this candidate's model: `tunewise run`
    then *measures* its quality on the test split (like a local pilot) instead of trusting a number."""

    base_url: str = Field(pattern=r"^https?://\S+$", description="the API root, e.g. https://api.openai.com/v1")
    model: str = Field(min_length=1, max_length=200, description="the model name the endpoint serves")
    api_key_env: str | None = Field(None, description="environment variable holding the key (never the key itself)")
    free: bool = Field(False, description="true: the endpoint costs nothing per token (a local server)")
    max_usd: Money | None = Field(None, description="refuse above this estimate; stop when spending reaches it")
    limit: int | None = Field(None, ge=1, description="evaluate a stratified subset of N test examples")
    concurrency: int = Field(4, ge=1, le=64)
    max_tokens: int | None = Field(None, ge=1, le=32768)
    prompt: str | None = Field(None, description="system instruction template; {labels} is the label list")

    @field_validator("api_key_env")
    @classmethod
    def _key_is_a_name(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", v):
            raise ValueError("endpoint.api_key_env must name an environment variable (letters, digits, '_'), not "
                             "hold a key; export the key and give the variable's name")
        return v


class _CandidateBase(_Strict):
    id: CandidateId
    label: str | None = Field(None, description="display name in the report")
    note: str = ""


def _known_license(v: str | None) -> str | None:
    if v is None or v.lower() == "unknown":
        return v
    from tunewise.rights.table import find, rows

    if find(v) is None:
        from tunewise.errors import did_you_mean

        ids = sorted(r.id for r in rows() if "model" in r.applies_to)
        raise ValueError(f"unknown base_model_license '{v}'. {did_you_mean(v, ids)}")
    return v


BaseModelLicense = Annotated[str | None, Field(None, description="license of the base model, a license table id "
                                                                 "(default: the catalog's model entry)")]


class LocalCandidate(_CandidateBase):
    kind: Literal["local"]
    base_model_license: BaseModelLicense = None
    _license_known = field_validator("base_model_license")(_known_license)
    model: str = Field(description="minilm | smollm2 | tfidf-logreg | a local Hugging Face directory")
    method: Literal[LOCAL_METHODS]  # type: ignore[valid-type]
    epochs: Decimal | None = Field(None, gt=0, le=50)
    max_train_examples: int | None = Field(None, gt=0)
    shots: int | None = Field(None, ge=0, le=64)
    learning_curve: bool = False
    serve: ServeSpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> LocalCandidate:
        allowed = LOCAL_MODEL_METHODS.get(self.model)
        if allowed is not None and self.method not in allowed:
            raise ValueError(f"model '{self.model}' cannot be used with method '{self.method}'; "
                             f"it supports: {', '.join(allowed)}")
        prompting = self.method in PROMPTING_LOCAL_METHODS
        if prompting and self.epochs is not None:
            raise ValueError(f"method '{self.method}' does not train, so 'epochs' contradicts it; remove 'epochs'")
        if prompting and self.learning_curve:
            raise ValueError(f"method '{self.method}' does not train, so it has no learning curve")
        if self.method == "few-shot" and not self.shots:
            raise ValueError("method 'few-shot' needs 'shots' >= 1 (or use method 'zero-shot')")
        if self.method == "zero-shot" and self.shots:
            raise ValueError("method 'zero-shot' contradicts 'shots' > 0; use method 'few-shot'")
        if self.shots is not None and not prompting:
            raise ValueError(f"'shots' only applies to zero-shot / few-shot, not '{self.method}'")
        return self


class ApiFinetuneCandidate(_CandidateBase):
    kind: Literal["api-finetune"]
    base_model_license: BaseModelLicense = None
    _license_known = field_validator("base_model_license")(_known_license)
    provider: str
    model: str
    epochs: int | None = Field(None, ge=1, le=100, description="default: the provider's rule")
    expected_score: ExpectedScore | None = None
    endpoint: EndpointSpec | None = Field(None, description="where the fine-tuned model answers: measure it")


class SelfhostCandidate(_CandidateBase):
    kind: Literal["selfhost"]
    base_model_license: BaseModelLicense = None
    _license_known = field_validator("base_model_license")(_known_license)
    family: str = Field(description="open model id from the catalog, e.g. llama-3.1-8b")
    method: Literal["full", "lora", "qlora"]
    gpu: GpuOffer
    gpus: int = Field(1, ge=1, le=1024)
    epochs: int = Field(3, ge=1, le=50)
    expected_score: ExpectedScore | None = None


class PromptingCandidate(_CandidateBase):
    kind: Literal["prompting"]
    provider: str
    model: str
    shots: int = Field(0, ge=0, le=256)
    expected_score: ExpectedScore | None = None
    endpoint: EndpointSpec | None = Field(None, description="where the model answers: measure it")


Candidate = Annotated[
    LocalCandidate | ApiFinetuneCandidate | SelfhostCandidate | PromptingCandidate,
    Field(discriminator="kind"),
]
CANDIDATE_KINDS = ("local", "api-finetune", "selfhost", "prompting")


class Plan(_Strict):
    """One decision to make: which of these candidates, for this data, traffic, horizon and budget."""

    version: Literal[1] = 1
    name: str = Field("unnamed plan", min_length=1, max_length=120)
    data: DataSpec
    task: TaskSpec = TaskSpec()
    traffic: TrafficSpec
    horizon_months: int = Field(12, ge=1, le=120)
    retrains_per_year: int = Field(0, ge=0, le=365)
    budget: BudgetSpec = BudgetSpec()
    serving: ServingSpec = ServingSpec()
    decision: DecisionSpec = DecisionSpec()
    prices: PricesSpec = PricesSpec()
    pilot: PilotSpec = PilotSpec()
    baseline: CandidateId | None = Field(None, description="prompting candidate for break-even; default: the first")
    candidates: list[Candidate] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Plan:
        ids = [c.id for c in self.candidates]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            second = [j for j, i in enumerate(ids) if i == dup[0]][1]
            raise ValueError(f"[candidates.{second}.id] candidate ids must be unique; listed twice: {', '.join(dup)}")
        b = self.budget
        if b.total_usd is not None and b.training_usd is not None and b.total_usd < b.training_usd:
            raise ValueError(f"[budget.total_usd] budget.total_usd ({b.total_usd}) is below budget.training_usd "
                             f"({b.training_usd}); the total includes training")
        if self.task.kind == "classification" and self.task.metric in GENERATION_METRICS:
            raise ValueError(f"[task.metric] metric '{self.task.metric}' is for generation tasks; for classification use "
                             + ", ".join(CLASSIFICATION_METRICS))
        if self.task.kind in ("completion", "chat") and self.task.metric in CLASSIFICATION_METRICS:
            raise ValueError(f"[task.metric] metric '{self.task.metric}' is for classification; for {self.task.kind} "
                             "use exact_match or token_f1")
        d = self.data
        for name in ("validation", "test"):
            other = getattr(d, name)
            if other is not None and Path(other) == Path(d.train):
                raise ValueError(f"[data.{name}] data.{name} is the same file as data.train; held-out data must differ")
        return self

    def candidate(self, cid: str) -> Candidate:
        for c in self.candidates:
            if c.id == cid:
                return c
        raise KeyError(cid)

    def baseline_id(self) -> str | None:
        """The prompting baseline used for break-even (explicit, else the first prompting candidate)."""
        if self.baseline:
            return self.baseline
        for c in self.candidates:
            if c.kind == "prompting":
                return c.id
        for c in self.candidates:
            if c.kind == "local" and c.method in PROMPTING_LOCAL_METHODS:
                return c.id
        return None


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-")
