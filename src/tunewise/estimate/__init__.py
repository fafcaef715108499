"""Cost estimates for fine-tuning candidates: API fine-tunes, self-hosted GPUs, prompting baselines.

>>> from tunewise.catalog import load_catalog
>>> from tunewise.estimate import Candidate, Traffic, Workload, estimate
>>> est = estimate([Candidate.parse("api-finetune:openai/gpt-4o-mini")],
...                Workload(examples=1000, tokens_total=100_000),
...                Traffic(requests_per_month=10_000, input_tokens=200, output_tokens=20),
...                catalog=load_catalog())                                   # doctest: +SKIP
>>> est[0].train_usd.expected  # Decimal USD                                 # doctest: +SKIP

Names are imported on first use so that ``tunewise.estimate.grammar`` stays cheap for the CLI.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "estimate": "tunewise.estimate._run",
    "GRAMMAR": "tunewise.estimate.grammar",
    "Candidate": "tunewise.estimate.candidate",
    "Calibration": "tunewise.estimate.models",
    "CostPart": "tunewise.estimate.models",
    "Estimate": "tunewise.estimate.models",
    "Horizon": "tunewise.estimate.models",
    "MemoryFit": "tunewise.estimate.models",
    "PriceUsed": "tunewise.estimate.models",
    "Traffic": "tunewise.estimate.models",
    "Range": "tunewise.estimate.ranges",
    "Histogram": "tunewise.estimate.workload",
    "Workload": "tunewise.estimate.workload",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tunewise.estimate' has no attribute '{name}'")


def __dir__() -> list[str]:
    return __all__
