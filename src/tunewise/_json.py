"""JSON for run records: Decimal money becomes a string (exact), dates ISO, paths strings."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any


def decimal_text(value: Decimal) -> str:
    """A Decimal as a plain numeral, never in exponent notation (JSON readers and people both parse it).

    >>> decimal_text(Decimal("4.08390E-7")), decimal_text(Decimal("150.37")), str(Decimal("4.08390E-7"))
    ('0.000000408390', '150.37', '4.08390E-7')
    """
    return format(value, "f")


def default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return decimal_text(obj)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (date, datetime)):
        return obj.isoformat()
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return obj.tolist()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def jsonable(obj: Any) -> Any:
    """A deep copy made only of JSON types (Decimal -> str)."""
    return json.loads(json.dumps(obj, default=default, ensure_ascii=False))


def write(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, default=default, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
