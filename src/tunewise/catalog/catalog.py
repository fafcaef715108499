"""The in-memory catalog: dated prices, API models, GPU specs, open models; lookups never price at $0."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from tunewise.catalog.loader import LoadedFile, bundled_files, env_files, read_file
from tunewise.catalog.schema import (
    KIND_GROUPS, ApiModel, GpuSpec, GpuSpecsFile, Lifecycle, OpenModel, OpenModelsFile, PriceEntry,
    ProviderBody, ProvidersFile, TrainingRules,
)
from tunewise.errors import BadInputError, Problem, did_you_mean

DEFAULT_STALE_DAYS = 180


class Price(BaseModel):
    """A dated price with its provider and where it came from (catalog file, user override)."""

    model_config = ConfigDict(frozen=True)

    provider: str
    model: str
    kind: str
    usd: Decimal
    unit: str
    effective_from: date
    effective_until: date | None = None
    source_url: str
    checked_on: date
    confidence: str
    market: str | None = None
    objective: str | None = None
    method: str | None = None
    instance: str | None = None
    vcpus: int | None = None
    memory_gb: Decimal | None = None
    cpu_arch: str | None = None
    monthly_cap_usd: Decimal | None = None
    min_gpus: int | None = None
    gpu_only: bool = False
    lifecycle: Lifecycle | None = None
    note: str = ""
    origin: str = ""
    user: bool = False

    @property
    def key(self) -> str:
        """Identity of the priced thing, without the date."""
        parts = [self.provider, self.model, self.kind]
        if self.market:
            parts.append(self.market)
        variant = "-".join(p for p in (self.objective, self.method) if p)
        if variant:
            parts.append(variant)
        return "/".join(parts)

    @property
    def id(self) -> str:
        return f"{self.key}@{self.effective_from.isoformat()}"

    def valid_on(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_until is None or day < self.effective_until)

    def age_days(self, ref: date) -> int:
        return (ref - self.checked_on).days

    def is_stale(self, ref: date, window_days: int = DEFAULT_STALE_DAYS) -> bool:
        return self.age_days(ref) > window_days

    def label(self) -> str:
        """'$8 per 1M tokens' - a price with its unit."""
        return f"${_plain(self.usd)} per {self.unit}"


def _plain(d: Decimal) -> str:
    text = format(d.normalize(), "f")
    return text


@dataclass
class ProviderInfo:
    id: str
    name: str
    url: str
    notes: list[str]
    training_rules: TrainingRules | None
    lifecycle: Lifecycle | None = None
    models: dict[str, ApiModel] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    origin: str = ""


@dataclass
class Catalog:
    """All catalog facts, resolved as of one date. Lookups raise BadInputError for unknown names."""

    as_of: date
    stale_after_days: int = DEFAULT_STALE_DAYS
    providers: dict[str, ProviderInfo] = field(default_factory=dict)
    prices: list[Price] = field(default_factory=list)
    gpus: dict[str, GpuSpec] = field(default_factory=dict)
    open_models: dict[str, OpenModel] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    # (file, line, provider, 'provider'|'model'|'price', lifecycle) to check replacements after merging
    _replacements: list[tuple] = field(default_factory=list, repr=False)

    # ---- staleness -------------------------------------------------------------------------
    def is_stale(self, price: Price) -> bool:
        return self.stale_reason(price) is not None

    def stale_reason(self, price: Price) -> str | None:
        """Why ``price`` needs re-checking on the catalog date, or None: checked more than the
        staleness window before it, or not checked since a lifecycle date of its offer that has
        passed (the offer may have changed or gone since)."""
        if price.is_stale(self.as_of, self.stale_after_days):
            return (f"last checked {price.checked_on}, {price.age_days(self.as_of)} days before "
                    f"{self.as_of} (window {self.stale_after_days} days)")
        lc = self.offer_lifecycle(price)
        if lc is not None:
            for name, day in lc.dates():
                if day <= self.as_of and price.checked_on < day:
                    return f"last checked {price.checked_on}, before its offer's {name} date {day}"
        return None

    # ---- lifecycle ---------------------------------------------------------------------------
    def model_lifecycle(self, provider: str, model: str) -> Lifecycle | None:
        """The model's lifecycle, each missing field taken from the provider's default."""
        info = self.provider(provider)
        m = self.api_model(provider, model)
        if m.lifecycle is None:
            return info.lifecycle
        return m.lifecycle.over(info.lifecycle)

    def offer_lifecycle(self, price: Price) -> Lifecycle | None:
        """The lifecycle that governs a price: its own, over its model's, over its provider's."""
        info = self.providers.get(price.provider)
        if info is None:
            return price.lifecycle
        model_id = info.aliases.get(price.model, price.model)
        base = (self.model_lifecycle(price.provider, model_id) if model_id in info.models
                else info.lifecycle)
        if price.lifecycle is None:
            return base
        return price.lifecycle.over(base)

    def gpu_offer_lifecycle(self, gpu_id: str, offer: str) -> tuple[str, Lifecycle | None]:
        """(subject, lifecycle) of a GPU offer, looked up across all its dated prices."""
        gpu = self.gpu(gpu_id)
        rows = [p for p in self._effective_set() if p.kind == "gpu-hour" and p.model == gpu.id
                and (f"{p.provider}-{p.market}" == offer or p.provider == offer)]
        with_lc = [p for p in rows if self.offer_lifecycle(p) is not None]
        if not with_lc:
            return f"{gpu.id}@{offer}", None
        p = max(with_lc, key=lambda p: p.effective_from)
        return f"{gpu.id}@{p.provider}-{p.market}", self.offer_lifecycle(p)

    def describe_replacement(self, provider: str, rep: str | None) -> str | None:
        """A replacement id as a reader can use it: 'openai/gpt-5.4-mini (not fine-tunable: compare it
        as prompting:openai/gpt-5.4-mini)'."""
        if rep is None:
            return None
        if rep.count("/") >= 2:  # a price key
            return rep
        prov, model = rep.split("/", 1) if "/" in rep else (provider, rep)
        info = self.providers.get(prov)
        if info is None:
            return rep
        mid = info.aliases.get(model, model)
        m = info.models.get(mid)
        if m is None:
            return f"{prov}/{model}"
        if m.fine_tunable:
            return f"{prov}/{mid} (fine-tunable: api-finetune:{prov}/{mid})"
        return f"{prov}/{mid} (not fine-tunable: compare it as prompting:{prov}/{mid})"

    # ---- providers and models ----------------------------------------------------------------
    def provider(self, provider: str) -> ProviderInfo:
        if provider not in self.providers:
            raise BadInputError(f"unknown provider '{provider}'",
                                why="it is not in the price catalog",
                                fix=did_you_mean(provider, list(self.providers)))
        return self.providers[provider]

    def api_model(self, provider: str, model: str) -> ApiModel:
        info = self.provider(provider)
        model_id = info.aliases.get(model, model)
        if model_id not in info.models:
            raise BadInputError(
                f"unknown model '{provider}/{model}'", why=f"provider '{provider}' lists no such model",
                fix=did_you_mean(model, list(info.models) + list(info.aliases))
                + f". Add it with --catalog-file (see `tunewise catalog show {provider}`)")
        return info.models[model_id]

    def training_rules(self, provider: str, model: str) -> TrainingRules:
        m = self.api_model(provider, model)
        return m.training or self.provider(provider).training_rules or TrainingRules()

    # ---- prices ------------------------------------------------------------------------------
    def select(self, *, provider: str | None = None, kind_group: str | None = None,
               as_of: date | None = None) -> list[Price]:
        """Prices in force on ``as_of`` (default the catalog date), optionally filtered."""
        day = as_of or self.as_of
        if kind_group is not None and kind_group not in KIND_GROUPS:
            raise BadInputError(f"unknown price kind '{kind_group}'",
                                fix=did_you_mean(kind_group, list(KIND_GROUPS)))
        if provider is not None and provider not in self.providers:
            self.provider(provider)  # raises with suggestions
        out = [p for p in self._in_force(day)
               if (provider is None or p.provider == provider)
               and (kind_group is None or p.kind in KIND_GROUPS[kind_group])]
        return sorted(out, key=lambda p: p.id)

    def _in_force(self, day: date) -> list[Price]:
        best: dict[str, Price] = {}
        for p in self._effective_set():
            if p.valid_on(day):
                cur = best.get(p.key)
                if cur is None or p.effective_from > cur.effective_from:
                    best[p.key] = p
        return list(best.values())

    def _effective_set(self) -> list[Price]:
        """User entries shadow every bundled entry for the same priced thing (negotiated rates)."""
        user_keys = {p.key for p in self.prices if p.user}
        return [p for p in self.prices if p.user or p.key not in user_keys]

    def history(self, key_prefix: str) -> list[Price]:
        return sorted((p for p in self.prices if p.key.startswith(key_prefix)), key=lambda p: p.id)

    def price(self, provider: str, model: str, kind: str, *, as_of: date | None = None,
              market: str | None = None, objective: str | None = None,
              method: str | None = None) -> Price:
        """The price of ``kind`` for ``provider/model`` valid on ``as_of``; raises if none (never $0)."""
        day = as_of or self.as_of
        model_id = self.provider(provider).aliases.get(model, model)
        candidates = [p for p in self._effective_set()
                      if p.provider == provider and p.kind == kind and p.market == market
                      and (objective is None or p.objective in (None, objective))
                      and (method is None or p.method in (None, method))]
        exact = [p for p in candidates if p.model == model_id]
        pool = exact or self._size_band(provider, model_id, candidates)
        valid = [p for p in pool if p.valid_on(day)]
        if len({p.key for p in valid}) > 1:
            variants = sorted({"-".join(x for x in (p.objective, p.method) if x) or "default" for p in valid})
            raise BadInputError(
                f"'{kind}' price for {provider}/{model_id} is ambiguous",
                why=f"the catalog prices several variants: {', '.join(variants)}",
                fix="Name one in the candidate, e.g. [method=lora] or [objective=sft]")
        if valid:
            return max(valid, key=lambda p: (p.effective_from, p.user))
        what = f"no '{kind}' price for {provider}/{model_id}"
        if method or objective:
            what += f" ({'-'.join(x for x in (objective, method) if x)})"
        if pool:
            dates = ", ".join(f"{p.effective_from}..{p.effective_until or 'now'}" for p in pool)
            raise BadInputError(what + f" in force on {day}",
                                why=f"the catalog has it only for {dates}",
                                fix="Pick an --as-of date inside that range, or add a dated price "
                                    "with --catalog-file")
        have = sorted({p.kind for p in self.prices if p.provider == provider and p.model == model_id})
        raise BadInputError(
            what, why="the catalog has no such price" + (f" (it has: {', '.join(have)})" if have else ""),
            fix=f"Add it in a YAML file passed with --catalog-file (provider '{provider}', model "
                f"'{model_id}', kind '{kind}'); never assumed to be $0")

    def _size_band(self, provider: str, model_id: str, candidates: list[Price]) -> list[Price]:
        """Providers pricing by model size ('upto-16b'): entries of the smallest band that fits."""
        bands = [p for p in candidates if _band_max(p.model) is not None]
        if not bands:
            return []
        params_b = self.provider(provider).models.get(model_id)
        size = params_b.params_b if params_b else None
        if size is None:
            return []
        fitting = sorted({_band_max(p.model) for p in bands if _band_max(p.model) >= size})
        if not fitting:
            return []
        return [p for p in bands if _band_max(p.model) == fitting[0]]

    # ---- GPUs --------------------------------------------------------------------------------
    def gpu(self, gpu_id: str) -> GpuSpec:
        if gpu_id in self.gpus:
            return self.gpus[gpu_id]
        for g in self.gpus.values():
            if gpu_id.lower() in (a.lower() for a in g.aliases):
                return g
        raise BadInputError(f"unknown GPU '{gpu_id}'", why="it is not in the GPU specs catalog",
                            fix=did_you_mean(gpu_id, list(self.gpus)))

    def hourly_offers(self, kind: str, as_of: date | None = None) -> list[Price]:
        """Every ``gpu-hour`` or ``instance-hour`` price in force on ``as_of`` (default: the catalog date)."""
        day = as_of or self.as_of
        return sorted((p for p in self._in_force(day) if p.kind == kind), key=lambda p: p.id)

    def cpu_instance(self, ref: str, *, as_of: date | None = None) -> Price:
        """The hourly price of a CPU instance named ``provider/instance`` (e.g. 'aws/c7i.large')."""
        offers = self.hourly_offers("instance-hour", as_of)
        names = [f"{p.provider}/{p.model}" for p in offers]
        for p, name in zip(offers, names):
            if name == ref:
                return p
        raise BadInputError(f"no CPU instance '{ref}' in force on {as_of or self.as_of}",
                            why="the catalog has no such instance-hour price",
                            fix=did_you_mean(ref, names) + ". Add one with --catalog-file (kind instance-hour)")

    def gpu_offer(self, gpu_id: str, offer: str, *, as_of: date | None = None) -> Price:
        """Hourly price of ``gpu_id`` at ``offer`` ('runpod', 'runpod-spot', 'aws-capacity-block')."""
        gpu = self.gpu(gpu_id)
        day = as_of or self.as_of
        offers = [p for p in self._effective_set() if p.kind == "gpu-hour" and p.model == gpu.id]
        names = sorted({f"{p.provider}-{p.market}" for p in offers} | {p.provider for p in offers})
        matching = [p for p in offers if f"{p.provider}-{p.market}" == offer]
        if not matching:
            by_provider = [p for p in offers if p.provider == offer]
            markets = {p.market for p in by_provider}
            if "on-demand" in markets:
                matching = [p for p in by_provider if p.market == "on-demand"]
            elif len(markets) == 1:
                matching = by_provider
            elif markets:
                raise BadInputError(
                    f"GPU offer '{gpu.id}@{offer}' is ambiguous",
                    why=f"{offer} sells {gpu.id} on several markets: {', '.join(sorted(markets))}",
                    fix="Name one, e.g. " + " or ".join(f"'{gpu.id}@{offer}-{m}'" for m in sorted(markets)))
        if not matching:
            raise BadInputError(
                f"no price for GPU '{gpu.id}' at '{offer}'",
                why="the catalog has no such GPU offer",
                fix=(did_you_mean(offer, names) if names else f"No offers for {gpu.id} at all")
                + ". Add an internal rate with --catalog-file (kind gpu-hour)")
        valid = [p for p in matching if p.valid_on(day)]
        if not valid:
            dates = ", ".join(f"{p.effective_from}..{p.effective_until or 'now'}" for p in matching)
            raise BadInputError(f"no price for GPU '{gpu.id}' at '{offer}' in force on {day}",
                                why=f"the catalog has it only for {dates}",
                                fix="Pick another --as-of date or add a dated price with --catalog-file")
        return max(valid, key=lambda p: (p.effective_from, p.user))

    # ---- open models -------------------------------------------------------------------------
    def open_model(self, model_id: str) -> OpenModel:
        if model_id in self.open_models:
            return self.open_models[model_id]
        for m in self.open_models.values():
            if model_id.lower() == m.hf_id.lower():
                return m
        raise BadInputError(f"unknown open model '{model_id}'",
                            why="it is not in the open-models catalog",
                            fix=did_you_mean(model_id, list(self.open_models))
                            + ". Add it to a YAML file (type: open-models) passed with --catalog-file")


def _band_max(model: str) -> Decimal | None:
    import re

    m = re.match(r"^upto-(\d+(?:\.\d+)?)b$", model)
    return Decimal(m.group(1)) if m else None


def load_catalog(extra_files: list[Path] | None = None, as_of: date | None = None, *,
                 stale_after_days: int = DEFAULT_STALE_DAYS, bundled: bool = True) -> Catalog:
    """Bundled catalog + files in ``TUNEWISE_CATALOG`` + ``extra_files`` (later files win).

    ``as_of`` (default today) picks which dated price is in force and is the reference date for
    staleness. Every problem in every file is collected and raised together as BadInputError.
    """
    if stale_after_days < 0:
        raise BadInputError("staleness window must be >= 0 days", why=f"got {stale_after_days}")
    cat = Catalog(as_of=as_of or date.today(), stale_after_days=stale_after_days)
    loaded: list[LoadedFile] = []
    problems: list[Problem] = []
    paths = [(p, False) for p in (bundled_files() if bundled else [])]
    paths += [(Path(p), True) for p in env_files() + list(extra_files or [])]
    for path, user in paths:
        try:
            loaded.append(read_file(path, user=user))
        except BadInputError as exc:
            problems.extend(exc.problems or [Problem(str(path), None, exc.render())])
    for lf in loaded:
        problems.extend(_merge(cat, lf))
    problems.extend(_replacement_problems(cat))
    if problems:
        raise BadInputError("the price catalog has errors", where=problems[0].where,
                            why=f"{len(problems)} problem(s) in {len({p.file for p in problems})} file(s)",
                            fix="Fix the listed entries; `tunewise catalog validate FILE` re-checks one file",
                            problems=problems)
    return cat


def _merge(cat: Catalog, lf: LoadedFile) -> list[Problem]:
    problems: list[Problem] = []
    c = lf.content
    cat.files.append(lf.path)
    origin = str(lf.path)
    if isinstance(c, GpuSpecsFile):
        for i, g in enumerate(c.gpus):
            if g.id in cat.gpus and not lf.user:
                problems.append(Problem(origin, lf.lines.get(("gpus", i)), f"GPU '{g.id}' defined twice"))
            cat.gpus[g.id] = g
        return problems
    if isinstance(c, OpenModelsFile):
        for i, m in enumerate(c.models):
            if m.id in cat.open_models and not lf.user:
                problems.append(Problem(origin, lf.lines.get(("models", i)),
                                        f"open model '{m.id}' defined twice"))
            cat.open_models[m.id] = m
        return problems
    if isinstance(c, ProvidersFile):
        for k, body in enumerate(c.providers):
            problems.extend(_merge_provider(cat, lf, body, ("providers", k)))
        return problems
    return problems + _merge_provider(cat, lf, c, ())


def _merge_provider(cat: Catalog, lf: LoadedFile, c: ProviderBody, prefix: tuple) -> list[Problem]:
    problems: list[Problem] = []
    origin = str(lf.path)
    info = cat.providers.get(c.provider)
    if info is None:
        info = cat.providers[c.provider] = ProviderInfo(
            id=c.provider, name=c.name, url=c.url, notes=list(c.notes),
            training_rules=c.training_rules, lifecycle=c.lifecycle, origin=origin)
    elif not lf.user:
        problems.append(Problem(origin, lf.lines.get(prefix, 1),
                                f"provider '{c.provider}' is defined in two bundled files"))
    else:
        if c.training_rules is not None:
            info.training_rules = c.training_rules
        if c.lifecycle is not None:
            info.lifecycle = c.lifecycle
    if c.lifecycle is not None:
        cat._replacements.append((origin, lf.lines.get(prefix, 1), c.provider, "provider", c.lifecycle))
    for i, m in enumerate(c.models):
        info.models[m.id] = m
        for a in m.aliases:
            info.aliases[a] = m.id
        if m.lifecycle is not None:
            cat._replacements.append((origin, lf.lines.get(prefix + ("models", i)), c.provider,
                                      "model", m.lifecycle))
    seen: set[str] = {p.id for p in cat.prices if p.user == lf.user}
    for i, e in enumerate(c.prices):
        p = _to_price(c.provider, e, origin, lf.user)
        line = lf.lines.get(prefix + ("prices", i))
        if p.id in seen:
            problems.append(Problem(origin, line, f"price '{p.id}' listed twice"))
        seen.add(p.id)
        cat.prices.append(p)
        if e.lifecycle is not None:
            cat._replacements.append((origin, line, c.provider, "price", e.lifecycle))
    return problems


def _replacement_problems(cat: Catalog) -> list[Problem]:
    """Every lifecycle replacement must name something the merged catalog has."""
    keys = {p.key for p in cat.prices}
    problems = []
    for origin, line, provider, where, lc in cat._replacements:
        rep = lc.replacement.id if lc.replacement else None
        if rep is None:
            continue
        if where == "price" and rep.count("/") >= 2:
            if rep not in keys:
                problems.append(Problem(origin, line, f"lifecycle replacement '{rep}' is not a price in "
                                        "the catalog", did_you_mean(rep, sorted(keys))))
            continue
        prov, model = rep.split("/", 1) if "/" in rep else (provider, rep)
        info = cat.providers.get(prov)
        if info is None or (model not in info.models and model not in info.aliases):
            names = ([f"{prov}/{m}" for m in info.models] if info else list(cat.providers))
            problems.append(Problem(origin, line, f"lifecycle replacement '{rep}' is not a model in the "
                                    "catalog", did_you_mean(rep if "/" in rep else f"{prov}/{model}", names)))
    return problems


def _to_price(provider: str, e: PriceEntry, origin: str, user: bool) -> Price:
    return Price(provider=provider, origin=origin, user=user, **e.model_dump())

