"""Plain-text descriptions of catalog items for `tunewise catalog show` and `validate`."""

from __future__ import annotations

from pathlib import Path

from tunewise.catalog.catalog import Catalog, Price
from tunewise.errors import BadInputError, did_you_mean


def _price_line(cat: Catalog, p: Price) -> str:
    state = "in force" if p.valid_on(cat.as_of) else "not in force"
    stale = "  STALE" if cat.is_stale(p) else ""
    until = f" until {p.effective_until}" if p.effective_until else ""
    note = f"  ({p.note})" if p.note else ""
    return (f"  {p.id}: {p.label()}  [{state}; from {p.effective_from}{until}; checked {p.checked_on}"
            f"{stale}; confidence {p.confidence}]  {p.source_url}{note}")


def _lifecycle_lines(cat: Catalog, lc, indent: str = "  ") -> list[str]:  # noqa: ANN001 - schema.Lifecycle
    """One line per lifecycle fact, with its source and check date, and what it means on the catalog date."""
    if lc is None:
        return []
    out = [f"{indent}lifecycle:"]
    for name in ("available_from", "new_jobs_until", "shutdown_on"):
        d = getattr(lc, name)
        if d is not None:
            state = "passed" if d.date <= cat.as_of else "ahead"
            out.append(f"{indent}  {name}: {d.date} ({state} on {cat.as_of}) [{d.confidence}; checked "
                       f"{d.checked_on}] {d.source_url}" + (f"  ({d.note})" if d.note else ""))
    for r in lc.restrictions:
        out.append(f"{indent}  restricted since {r.since} ({r.applies_to}): {r.who} [{r.confidence}; checked "
                   f"{r.checked_on}] {r.source_url}")
    if lc.replacement is not None:
        out.append(f"{indent}  replacement: {lc.replacement.id} [{lc.replacement.confidence}; checked "
                   f"{lc.replacement.checked_on}] {lc.replacement.source_url}")
    return out


def describe(cat: Catalog, item: str) -> list[str]:
    """Lines describing a price id, provider, PROVIDER/MODEL, GPU or open model; raises if unknown."""
    by_id = {p.id: p for p in cat.prices}
    if item in by_id:
        p = by_id[item]
        return [f"price {p.id}", *[f"  {k}: {v}" for k, v in p.model_dump().items() if v not in (None, "")],
                f"  in force on {cat.as_of}: {'yes' if p.valid_on(cat.as_of) else 'no'}",
                f"  stale: {'yes' if cat.is_stale(p) else 'no'} (window {cat.stale_after_days} days)"]
    if item in cat.providers:
        info = cat.providers[item]
        lines = [f"provider {info.id}: {info.name}  {info.url}", f"  defined in {info.origin}"]
        lines += [f"  note: {n}" for n in info.notes]
        if info.training_rules:
            lines.append(f"  training rules: {info.training_rules.model_dump(exclude_none=True)}")
        lines += _lifecycle_lines(cat, info.lifecycle)
        for m in info.models.values():
            lc = cat.model_lifecycle(item, m.id)
            end = f", shut down {lc.shutdown_on.date}" if lc and lc.shutdown_on else ""
            lines.append(f"  model {m.id}" + (f" (aliases {', '.join(m.aliases)})" if m.aliases else "")
                         + (" fine-tunable" if m.fine_tunable else "")
                         + (f", context {m.context_limit:,}" if m.context_limit else "")
                         + f", tokenizer {m.tokenizer}{end}")
        lines.append("  prices:")
        lines += [_price_line(cat, p) for p in sorted(cat.prices, key=lambda p: p.id) if p.provider == item]
        return lines
    if "/" in item and item.split("/", 1)[0] in cat.providers:
        provider, model = item.split("/", 1)
        m = cat.api_model(provider, model)
        lines = [f"model {provider}/{m.id}", *[f"  {k}: {v}" for k, v in
                                               m.model_dump(exclude_none=True).items()
                                               if v not in ([], "") and k != "lifecycle"]]
        lines += _lifecycle_lines(cat, cat.model_lifecycle(provider, m.id))
        rules = cat.training_rules(provider, m.id)
        lines.append(f"  training rules: {rules.model_dump(exclude_none=True)}")
        lines.append("  prices (all dates):")
        lines += [_price_line(cat, p) for p in sorted(cat.prices, key=lambda p: p.id)
                  if p.provider == provider and p.model == m.id]
        return lines
    try:
        g = cat.gpu(item)
    except BadInputError:
        g = None
    if g is not None:
        lines = [f"GPU {g.id}: {g.name}", f"  memory {g.memory_gb} GB, {g.bf16_dense_tflops} TFLOP/s dense bf16, "
                 f"{g.memory_bandwidth_gbs} GB/s  [confidence {g.confidence}; checked {g.checked_on}] {g.source_url}",
                 "  offers (all dates):"]
        lines += [_price_line(cat, p) for p in sorted(cat.prices, key=lambda p: p.id)
                  if p.kind == "gpu-hour" and p.model == g.id]
        return lines
    if item in cat.open_models:
        m = cat.open_models[item]
        return [f"open model {m.id}", *[f"  {k}: {v}" for k, v in m.model_dump().items() if v not in (None, "")]]
    names = (list(by_id) + list(cat.providers) + list(cat.gpus) + list(cat.open_models)
             + [f"{p}/{m}" for p, info in cat.providers.items() for m in info.models])
    raise BadInputError(f"nothing called '{item}' in the catalog",
                        fix=did_you_mean(item, names) + ". Try `tunewise catalog list`")


def file_summary(cat: Catalog, path: Path) -> tuple[str, list[str]]:
    """'N prices, M models …' for one loaded file, and the ids of its stale prices."""
    origin = str(path)
    prices = [p for p in cat.prices if p.origin == origin]
    models = sum(1 for info in cat.providers.values() for m in info.models.values()
                 if info.origin == origin)
    stale = [p.id for p in prices if cat.is_stale(p)]
    bits = [f"{len(prices)} price(s)"]
    if models:
        bits.append(f"{models} model(s)")
    return ", ".join(bits) + f", {len(stale)} stale", stale


def lifecycle_warnings(cat: Catalog, path: Path) -> list[str]:
    """Lifecycle facts of one loaded file a reviewer should look at: prices that run past their
    offer's shutdown, and facts whose date has passed without a check since."""
    origin = str(path)
    out = []
    for p in cat.prices:
        if p.origin != origin:
            continue
        lc = cat.offer_lifecycle(p)
        if lc is not None and lc.shutdown_on is not None:
            end = lc.shutdown_on.date
            if p.effective_until is None or p.effective_until > end:
                out.append(f"price {p.id} runs past its offer's shutdown on {end}: give it effective_until: {end}")
    for info in cat.providers.values():
        for m in info.models.values():
            lc = m.lifecycle
            if lc is None or info.origin != origin and not any(pr.origin == origin and pr.model == m.id
                                                                for pr in cat.prices):
                continue
            for name, day in lc.dates():
                checked = [getattr(lc, n).checked_on for n in ("available_from", "new_jobs_until", "shutdown_on")
                           if getattr(lc, n) is not None and getattr(lc, n).date == day]
                if day <= cat.as_of and checked and max(checked) < day:
                    out.append(f"{info.id}/{m.id}: {name} {day} has passed but was last checked {max(checked)}")
    return out
