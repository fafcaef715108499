"""What each kind-specific pricer hands to the TCO step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from tunewise.estimate.ranges import Range

# requests in a month -> {"inference": Range, "hosting": Range, ...} (USD for that month)
MonthlyFn = Callable[[Decimal], dict[str, Range]]


@dataclass
class Priced:
    train: Range | None  # USD for one training run (None: nothing to train)
    monthly: MonthlyFn
    status: str = "ok"
    reason: str | None = None
    extra: dict = field(default_factory=dict)  # fields copied onto the Estimate (billed_tokens, ...)
    calibrated: bool = False
    last_retrain_month: int | None = None  # retrains after this month index are impossible (None: no limit)

    def retrain_possible(self, month: int) -> bool:
        return self.last_retrain_month is None or month <= self.last_retrain_month


def not_possible(reason: str, status: str = "not-possible", **extra: object) -> Priced:
    return Priced(train=None, monthly=lambda _r: {}, status=status, reason=reason, extra=dict(extra))
