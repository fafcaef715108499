"""Evaluate an OpenAI-compatible chat-completions endpoint on the pilot's test split.

An endpoint evaluation is a pilot whose model is remote: same split, prompts, metrics (with CIs),
run-directory files and record shape, so ``tunewise compare`` and ``tunewise run`` treat it like a
local pilot. Needs the ``openai`` package (``pip install 'tunewise[eval]'``)::

    from tunewise.endpoint import EvalConfig, run_eval
    out = run_eval(EvalConfig(data=Path("train.jsonl"), base_url="http://127.0.0.1:8000/v1",
                              model="my-model", out_dir=Path("runs/endpoint"), free=True))
    out.record["metrics"]["macro_f1"]        # {"value", "ci_low", "ci_high", "ci"}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from tunewise.endpoint.evaluate import EvalConfig, EvalOutcome, run_eval

__all__ = ["EvalConfig", "EvalOutcome", "run_eval"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from tunewise.endpoint import evaluate

        return getattr(evaluate, name)
    raise AttributeError(f"module 'tunewise.endpoint' has no attribute {name!r}")
