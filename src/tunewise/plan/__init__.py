"""Plan files: what to compare, for which data, traffic, horizon and budget.

Public API: ``load_plan(path)`` -> ``LoadedPlan`` (``.plan`` is the validated ``Plan``; ``.line(...)``
and ``.where(...)`` point at plan lines), ``Plan`` (the strict schema), ``template_text()`` (the
commented template that ``tunewise plan init`` writes) and ``demo_plan_text()`` (the bundled demo).
"""

from __future__ import annotations

from importlib import resources

from tunewise.plan.loader import LoadedPlan, load_plan
from tunewise.plan.schema import SCHEMA_VERSION, Plan


def template_text(train: str = "train.jsonl", test: str | None = "test.jsonl") -> str:
    """The commented plan template; ``train``/``test`` fill its data paths."""
    text = resources.files("tunewise.plan").joinpath("template.yaml").read_text(encoding="utf-8")
    text = text.replace("train: train.jsonl", f"train: {train}")
    if not test:  # None or "" (`--test ""`): a seeded split of train
        text = text.replace("  test: test.jsonl", "  # test: test.jsonl")
    else:
        text = text.replace("test: test.jsonl", f"test: {test}")
    return text


def demo_plan_text() -> str:
    """The bundled demo plan (Rotten Tomatoes; local pilots + API and self-hosted estimates)."""
    return resources.files("tunewise.plan").joinpath("demo.yaml").read_text(encoding="utf-8")


__all__ = ["SCHEMA_VERSION", "LoadedPlan", "Plan", "demo_plan_text", "load_plan", "template_text"]
