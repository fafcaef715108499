"""Collects the assumptions and the prices one estimate relies on."""

from __future__ import annotations

from dataclasses import dataclass, field

from tunewise.catalog import Catalog, Price
from tunewise.errors import BadInputError
from tunewise.estimate.models import PriceUsed


@dataclass
class Ledger:
    catalog: Catalog
    assumptions: list[str] = field(default_factory=list)
    prices: list[PriceUsed] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.assumptions:
            self.assumptions.append(text)

    def use(self, price: Price, role: str) -> Price:
        if not any(p.id == price.id and p.role == role for p in self.prices):
            stale = self.catalog.is_stale(price)
            self.prices.append(PriceUsed(
                id=price.id, role=role, usd=price.usd, unit=price.unit,
                effective_from=price.effective_from, checked_on=price.checked_on,
                source_url=price.source_url, confidence=price.confidence, stale=stale, user=price.user))
            if stale:
                self.note(f"STALE PRICE: {price.id} was last checked {price.checked_on} "
                          f"({price.age_days(self.catalog.as_of)} days before {self.catalog.as_of}); "
                          "re-check it or override it with --catalog-file")
            if price.confidence == "R":
                self.note(f"{price.id} is a recalled figure (weakest confidence); verify it")
        return price

    def maybe(self, fn, role: str) -> Price | None:  # noqa: ANN001 - a price lookup thunk
        """Use an optional price (job minimum, storage fee) if the catalog has one in force."""
        try:
            return self.use(fn(), role)
        except BadInputError:
            return None
