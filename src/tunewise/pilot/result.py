"""PilotResult: what a pilot run measured; ``to_dict()`` is the pilot.json content."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1


@dataclass
class PilotResult:
    data: dict[str, Any]
    run_dir: Path

    def to_dict(self) -> dict[str, Any]:
        return self.data

    @property
    def metrics(self) -> dict[str, dict[str, Any]]:
        return self.data["metrics"]

    @property
    def task(self) -> str:
        return self.data["task"]

    def metric(self, name: str) -> float:
        return float(self.data["metrics"][name]["value"])
