"""Collects the assumptions and the prices one estimate relies on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from tunewise.catalog import Catalog, Price
from tunewise.errors import BadInputError
from tunewise.estimate.models import PriceUsed


@dataclass
class Ledger:
    catalog: Catalog
    assumptions: list[str] = field(default_factory=list)
    prices: list[PriceUsed] = field(default_factory=list)
    lifecycle: list = field(default_factory=list)  # catalog.lifecycle.LifecycleFact
    new_jobs_until: date | None = None
    retrains_not_priced: list[int] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.assumptions:
            self.assumptions.append(text)

    def use(self, price: Price, role: str) -> Price:
        if not any(p.id == price.id and p.role == role for p in self.prices):
            why = self.catalog.stale_reason(price)
            self.prices.append(PriceUsed(
                id=price.id, role=role, usd=price.usd, unit=price.unit,
                effective_from=price.effective_from, checked_on=price.checked_on,
                source_url=price.source_url, confidence=price.confidence, stale=why is not None,
                stale_reason=why, user=price.user))
            if why is not None:
                self.note(f"STALE PRICE: {price.id} was {why}; re-check it or override it with "
                          "--catalog-file")
            if price.confidence == "R":
                self.note(f"{price.id} is a recalled figure (weakest confidence); verify it")
        return price

    def maybe(self, fn, role: str) -> Price | None:  # noqa: ANN001 - a price lookup thunk
        """Use an optional price (job minimum, storage fee) if the catalog has one in force."""
        try:
            return self.use(fn(), role)
        except BadInputError:
            return None
