"""`tunewise run`: audit -> pilots -> estimates -> decision -> report, with a content-hash step cache.

Public API: ``run_plan(plan_path, out_dir, console=None) -> RunOutcome`` and
``validate_plan(plan_path) -> LoadedPlan`` (schema, files and catalog names, with plan lines).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from tunewise.runner.run import RunOutcome, run_plan, validate_plan

__all__ = ["RunOutcome", "run_plan", "validate_plan"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from tunewise.runner import run

        return getattr(run, name)
    raise AttributeError(f"module 'tunewise.runner' has no attribute {name!r}")
