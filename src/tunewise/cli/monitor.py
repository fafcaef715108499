"""CLI verb module (placeholder until its issue lands)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:  # noqa: ARG001 - filled in by the issue that owns this verb
    return None
