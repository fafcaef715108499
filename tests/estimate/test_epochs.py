"""OpenAI's automatic epoch count (n_epochs "auto"), exactly as OpenAI's cookbook computes it
(examples/Chat_finetuning_data_prep.ipynb): 3 epochs, else 100 // n when n * 3 < 100 (at most 25),
else 25000 // n when n * 3 > 25000 (at least 1). Floor, not ceiling: 11 examples train 9 epochs."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from tunewise.estimate import Traffic, Workload, estimate
from tunewise.estimate.api import default_epochs


def cookbook(n: int) -> int:
    """The cookbook's cell, transcribed (TARGET_EPOCHS 3, MIN/MAX_TARGET_EXAMPLES 100/25000,
    MIN/MAX_DEFAULT_EPOCHS 1/25)."""
    n_epochs = 3
    if n * 3 < 100:
        n_epochs = min(25, 100 // n)
    elif n * 3 > 25000:
        n_epochs = max(1, 25000 // n)
    return n_epochs


@pytest.mark.parametrize("n,want", [(11, 9), (33, 3), (34, 3), (100, 3), (1, 25), (3, 25), (4, 25), (5, 20),
                                    (8333, 3), (8334, 2), (12_500, 2), (12_501, 1), (30_000, 1)])
def test_openai_auto_epochs_follow_the_cookbook(catalog, n: int, want: int) -> None:
    rules = catalog.training_rules("openai", "gpt-4o-mini-2024-07-18")
    got, how = default_epochs(rules, n)
    assert got == want == cookbook(n), how


@pytest.mark.parametrize("n", [11, 33, 34, 100])
def test_billed_tokens_use_the_floored_epochs(catalog, n: int) -> None:
    w = Workload(examples=n, tokens_total=n * 100, max_tokens=100, tokenizer="o200k_base")
    t = Traffic(requests_per_month=D(1000), input_tokens=D(100), output_tokens=D(10))
    e, = estimate(["api-finetune:openai/gpt-4o-mini-2024-07-18"], w, t, catalog=catalog)
    assert e.epochs == cookbook(n)
    assert e.billed_tokens.expected == n * 100 * cookbook(n)
    assert any(f"epochs: {cookbook(n)} (openai rule" in a for a in e.assumptions)
