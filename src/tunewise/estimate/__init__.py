"""Cost estimates for fine-tuning candidates: API fine-tunes, self-hosted GPUs, prompting baselines.

>>> from tunewise.catalog import load_catalog
>>> from tunewise.estimate import Candidate, Traffic, Workload, estimate
>>> est = estimate([Candidate.parse("api-finetune:openai/gpt-4o-mini")],
...                Workload(examples=1000, tokens_total=100_000),
...                Traffic(requests_per_month=10_000, input_tokens=200, output_tokens=20),
...                catalog=load_catalog())
>>> est[0].train_usd.expected  # Decimal, USD
"""

from tunewise.estimate._run import estimate
from tunewise.estimate.candidate import GRAMMAR, Candidate
from tunewise.estimate.models import (
    Calibration, CostPart, Estimate, Horizon, MemoryFit, PriceUsed, Traffic,
)
from tunewise.estimate.ranges import Range
from tunewise.estimate.workload import Histogram, Workload

__all__ = [
    "GRAMMAR", "Calibration", "Candidate", "CostPart", "Estimate", "Histogram", "Horizon",
    "MemoryFit", "PriceUsed", "Range", "Traffic", "Workload", "estimate",
]
