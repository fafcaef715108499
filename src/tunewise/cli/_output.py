"""Shared terminal output for CLI verbs: errors, problem lists, JSON writing."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from tunewise.errors import BadInputError, TunewiseError

console = Console()
err_console = Console(stderr=True)

MAX_PROBLEMS_SHOWN = 50


def print_error(exc: TunewiseError) -> None:
    """`error: <what> at <file:line>: <why>. <what to do>` plus every collected problem."""
    err_console.print(f"[bold red]error:[/] {exc.render()}", highlight=False, soft_wrap=True)
    problems = getattr(exc, "problems", []) if isinstance(exc, BadInputError) else []
    for p in problems[:MAX_PROBLEMS_SHOWN]:
        err_console.print(f"  {p.render()}", highlight=False, soft_wrap=True, markup=False)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        err_console.print(f"  … and {len(problems) - MAX_PROBLEMS_SHOWN} more (use --json for all)")


def write_json(path: Path | str, payload: Any) -> None:
    """Write JSON atomically ('-' means stdout)."""
    text = json.dumps(payload, indent=2, ensure_ascii=False, default=_default) + "\n"
    if str(path) == "-":
        sys.stdout.write(text)
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _default(obj: Any) -> Any:
    from decimal import Decimal

    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
