"""Low / expected / high ranges of Decimal (money, hours, tokens). Never float."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Iterable

from pydantic import BaseModel, ConfigDict, model_validator

MONEY_Q = Decimal("0.0001")  # money is kept to 1/100 of a cent; shown to the cent
HOURS_Q = Decimal("0.001")
ZERO = Decimal(0)


def _dec(x: Decimal | int) -> Decimal:
    if isinstance(x, float):  # pragma: no cover - a programming error, never user input
        raise TypeError("float is not allowed in money arithmetic; use Decimal")
    return x if isinstance(x, Decimal) else Decimal(x)


class Range(BaseModel):
    """A quantity with a band: low <= expected <= high."""

    model_config = ConfigDict(frozen=True)

    low: Decimal
    expected: Decimal
    high: Decimal

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not (self.low <= self.expected <= self.high):
            raise ValueError(f"range out of order: {self.low} / {self.expected} / {self.high}")
        return self

    @classmethod
    def exact(cls, x: Decimal | int) -> Range:
        d = _dec(x)
        return cls(low=d, expected=d, high=d)

    @classmethod
    def of(cls, low: Decimal | int, expected: Decimal | int, high: Decimal | int) -> Range:
        return cls(low=_dec(low), expected=_dec(expected), high=_dec(high))

    @classmethod
    def zero(cls) -> Range:
        return cls.exact(ZERO)

    def __add__(self, other: Range) -> Range:
        return Range(low=self.low + other.low, expected=self.expected + other.expected,
                     high=self.high + other.high)

    def times(self, k: Decimal | int | Range) -> Range:
        """Multiply by a non-negative scalar or (componentwise) by a non-negative range."""
        if isinstance(k, Range):
            return Range(low=self.low * k.low, expected=self.expected * k.expected,
                         high=self.high * k.high)
        d = _dec(k)
        if d < 0:
            raise ValueError("cannot scale a range by a negative number")
        return Range(low=self.low * d, expected=self.expected * d, high=self.high * d)

    def maximum(self, floor: Decimal) -> Range:
        """Componentwise max with a floor (minimum charges)."""
        return Range(low=max(self.low, floor), expected=max(self.expected, floor),
                     high=max(self.high, floor))

    def q(self, quantum: Decimal = MONEY_Q) -> Range:
        return Range(low=_round(self.low, quantum), expected=_round(self.expected, quantum),
                     high=_round(self.high, quantum))

    def as_ints(self) -> Range:
        return self.q(Decimal(1))


def _round(x: Decimal, quantum: Decimal) -> Decimal:
    return x.quantize(quantum, rounding=ROUND_HALF_EVEN)


def total(ranges: Iterable[Range]) -> Range:
    out = Range.zero()
    for r in ranges:
        out = out + r
    return out
