"""The estimator and catalog stay light: no torch, transformers, fastapi or genai-prices on use."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
from decimal import Decimal
from tunewise.catalog import load_catalog
from tunewise.estimate import Traffic, Workload, estimate
estimate(["api-finetune:openai/gpt-4o-mini", "selfhost:llama-3.1-8b/lora/h100-80gb@runpod"],
         Workload(examples=100, tokens_total=10000),
         Traffic(requests_per_month=Decimal(1), input_tokens=Decimal(1), output_tokens=Decimal(1)),
         catalog=load_catalog())
heavy = [m for m in ("torch", "transformers", "fastapi", "genai_prices", "sklearn", "numpy") if m in sys.modules]
print(",".join(heavy))
"""


def test_estimate_does_not_import_heavy_packages():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
