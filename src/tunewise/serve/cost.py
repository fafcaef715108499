"""Self-hosted cost of a request: hourly compute price x the compute time it used (Decimal)."""

from __future__ import annotations

from decimal import Decimal

QUANTUM = Decimal("1e-12")   # USD; far below a cent, exact to sum


def compute_cost(usd_per_hour: Decimal, seconds: float) -> Decimal:
    """USD for ``seconds`` of a machine billed at ``usd_per_hour``; the float time enters as a rounded
    decimal string so the money arithmetic itself stays exact."""
    secs = Decimal(f"{max(seconds, 0.0):.9f}")
    return (usd_per_hour * secs / Decimal(3600)).quantize(QUANTUM)
