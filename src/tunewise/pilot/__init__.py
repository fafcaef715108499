"""Real local fine-tunes and their evaluation: the measured half of the decision.

Public API (heavy libraries load lazily, on first use)::

    from tunewise.pilot import PilotConfig, run_pilot, load_predictor
    result = run_pilot(PilotConfig(data=Path("train.jsonl"), model="minilm", method="full",
                                   out_dir=Path("runs/minilm-full")))
    result.to_dict()["metrics"]["macro_f1"]      # {"value", "ci_low", "ci_high"}
    predictor = load_predictor("runs/minilm-full")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tunewise.pilot.config import PilotConfig

if TYPE_CHECKING:  # pragma: no cover
    from tunewise.pilot.predictor import Predictor, load_predictor
    from tunewise.pilot.result import PilotResult
    from tunewise.pilot.run import run_pilot

__all__ = ["PilotConfig", "PilotResult", "Predictor", "load_predictor", "run_pilot"]

_LAZY = {
    "run_pilot": "tunewise.pilot.run",
    "PilotResult": "tunewise.pilot.result",
    "load_predictor": "tunewise.pilot.predictor",
    "Predictor": "tunewise.pilot.predictor",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tunewise.pilot' has no attribute {name!r}")
