"""The one way tunewise prints a dollar amount (figures keep every digit in JSON; this is display).

>>> from decimal import Decimal as D
>>> [usd(D(x)) for x in ("150.37", "1234.5", "0.004217", "0", "-12.5")]
['$150.37', '$1,234', '$0.0042', '$0.00', '-$12.50']
>>> usd(D("0.0000981234")), usd(D("0.000001225544"))
('$0.000098', '$0.0000012')
>>> usd(None)
'n/a'
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any


def usd(x: Any, places: int | None = None) -> str:
    """Cents below $1,000, whole dollars from $1,000, two significant digits below one cent;
    ``places`` forces a number of decimals (price tables: ``usd(x, 4)``)."""
    if x is None:
        return "n/a"
    try:
        d = Decimal(str(x))
    except InvalidOperation:
        return str(x)
    sign, a = ("-" if d < 0 else ""), abs(d)
    if places is not None:
        return f"{sign}${a:,.{places}f}"
    if a == 0:
        return "$0.00"
    if a < Decimal("0.01"):
        two_digits = a.quantize(Decimal(1).scaleb(a.adjusted() - 1), rounding=ROUND_HALF_EVEN)
        return f"{sign}${two_digits:f}"  # fixed notation, never 9.8e-05
    return f"{sign}${a:,.2f}" if a < 1000 else f"{sign}${a:,.0f}"
