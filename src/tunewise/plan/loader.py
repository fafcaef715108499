"""Load and check a plan: YAML with line numbers -> strict schema -> files and names that must exist.

Every problem is collected and reported together, each naming the plan line it came from.
"""

from __future__ import annotations

import re
from decimal import Decimal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from tunewise.errors import BadInputError, Problem, did_you_mean
from tunewise import _yaml
from tunewise.plan.schema import (
    CANDIDATE_KINDS,
    LOCAL_MODELS,
    PROMPTING_LOCAL_METHODS,
    ApiFinetuneCandidate,
    LocalCandidate,
    Plan,
    PromptingCandidate,
    SelfhostCandidate,
)

# A catalog check: (plan, line lookup) -> problems. Set by the runner once the catalog is importable.
CatalogCheck = Callable[["LoadedPlan"], list[Problem]]

_MODELS_BY_KIND: dict[str, type[BaseModel]] = {
    "local": LocalCandidate, "api-finetune": ApiFinetuneCandidate,
    "selfhost": SelfhostCandidate, "prompting": PromptingCandidate,
}


@dataclass
class LoadedPlan:
    """A validated plan plus what is needed to point at its lines and resolve its paths."""

    plan: Plan
    path: Path
    node: yaml.Node | None = None
    raw: Any = None
    warnings: list[Problem] = field(default_factory=list)

    @property
    def base_dir(self) -> Path:
        return self.path.resolve().parent

    def resolve(self, p: Path | None) -> Path | None:
        """A plan path made absolute (relative paths are relative to the plan file)."""
        if p is None:
            return None
        p = Path(p).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)

    def line(self, *loc: Any) -> int | None:
        return _yaml.line_of(self.node, loc)

    def where(self, *loc: Any) -> str:
        line = self.line(*loc)
        return f"{self.path}:{line}" if line else str(self.path)

    def problem(self, loc: tuple[Any, ...], error: str, hint: str = "", severity: str = "error") -> Problem:
        return Problem(str(self.path), self.line(*loc), error, hint, severity)

    def candidate_index(self, cid: str) -> int:
        return [c.id for c in self.plan.candidates].index(cid)


def load_plan(path: str | Path, *, check_files: bool = True,
              catalog_check: CatalogCheck | None = None) -> LoadedPlan:
    """Read, validate and check a plan. Raises BadInputError (exit 2) listing every problem with its line."""
    path = Path(path)
    data, node = _yaml.read_yaml(path, what="plan",
                                 missing_fix="Check the path, or write a template with `tunewise plan init PLAN.yaml`")
    if data is None:
        raise BadInputError("the plan file is empty", where=f"{path}:1",
                            fix="Write one with `tunewise plan init PLAN.yaml`")
    if not isinstance(data, dict):
        raise BadInputError("a plan must be a YAML mapping (key: value lines)", where=f"{path}:1",
                            why=f"got a {type(data).__name__}", fix="Start from `tunewise plan init PLAN.yaml`")
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        problems = [_problem_from_error(path, node, data, err) for err in exc.errors()]
        _raise(path, problems, "the plan does not match the plan schema")
    loaded = LoadedPlan(plan, path, node, data)
    problems = _semantic_checks(loaded, check_files=check_files)
    if catalog_check is not None and not any(p.severity == "error" for p in problems):
        problems += catalog_check(loaded)
    errors = [p for p in problems if p.severity == "error"]
    loaded.warnings = [p for p in problems if p.severity != "error"]
    if errors:
        _raise(path, errors, "the plan has problems")
    return loaded


def _raise(path: Path, problems: list[Problem], what: str) -> None:
    problems = sorted(problems, key=lambda p: (p.line or 0, p.error))
    first = problems[0]
    n = len(problems)
    raise BadInputError(
        f"{what} ({n} problem{'s' if n != 1 else ''})", where=first.where,
        why=first.error, fix=(first.hint or "Fix the plan line named above") +
        ("; every problem is listed below" if n > 1 else ""),
        problems=problems if n > 1 else [],
    )


def _candidate_kind(data: Any, loc: tuple[Any, ...]) -> str | None:
    if len(loc) >= 2 and loc[0] == "candidates" and isinstance(loc[1], int):
        try:
            return data["candidates"][loc[1]].get("kind")
        except (KeyError, IndexError, TypeError, AttributeError):
            return None
    return None


def _fields_at(data: Any, loc: tuple[Any, ...]) -> list[str]:
    """Allowed field names of the model at ``loc`` (for did-you-mean on unknown keys)."""
    model: type[BaseModel] | None = Plan
    for i, key in enumerate(loc):
        if model is None:
            return []
        if key == "candidates":
            kind = _candidate_kind(data, loc[: i + 2])
            model = _MODELS_BY_KIND.get(kind or "")
            continue
        if isinstance(key, int) or key in CANDIDATE_KINDS:
            continue
        f = model.model_fields.get(key)
        ann = f.annotation if f else None
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
        if model is None:
            # Optional[Model]
            for arg in getattr(ann, "__args__", ()):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    model = arg
    return list(model.model_fields) if model else []


def _problem_from_error(path: Path, node: yaml.Node | None, data: Any, err: dict[str, Any]) -> Problem:
    loc = tuple(err.get("loc", ()))
    line = _yaml.line_of(node, loc)
    dotted = ".".join(str(p) for p in loc if p not in CANDIDATE_KINDS) or "(top level)"
    kind = err.get("type", "")
    msg = err.get("msg", "invalid value")
    hint = ""
    if kind == "extra_forbidden":
        allowed = _fields_at(data, loc[:-1])
        msg = f"unknown key '{loc[-1]}' in {'.'.join(str(p) for p in loc[:-1] if p not in CANDIDATE_KINDS) or 'the plan'}"
        hint = did_you_mean(str(loc[-1]), allowed) if allowed else "Remove it"
    elif kind == "missing":
        msg = f"missing required key '{loc[-1]}'"
        hint = f"Add '{loc[-1]}:' under {'.'.join(str(p) for p in loc[:-1] if p not in CANDIDATE_KINDS) or 'the top level'}"
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        tag = (err.get("ctx") or {}).get("tag") or ""
        line = _yaml.line_of(node, (*loc, "kind"))
        msg = f"unknown candidate kind '{tag}'" if tag else "a candidate needs a 'kind'"
        hint = did_you_mean(str(tag), list(CANDIDATE_KINDS)) if tag else \
            "Add 'kind:' (one of " + ", ".join(CANDIDATE_KINDS) + ")"
    elif kind == "literal_error":
        got = err.get("input")
        expected = (err.get("ctx") or {}).get("expected", "")
        msg = f"{dotted}: '{got}' is not allowed"
        choices = [c.strip().strip("'") for c in str(expected).replace(" or ", ",").split(",") if c.strip()]
        hint = did_you_mean(str(got), choices) if choices else f"Expected {expected}"
    elif kind == "value_error":
        msg = msg.removeprefix("Value error, ")
        m = re.match(r"^\[([\w.]+)\] ", msg)
        if m:  # a cross-field check that names the key it is about
            msg = msg[m.end():]
            sub = tuple(int(p) if p.isdigit() else p for p in m.group(1).split("."))
            line = _yaml.line_of(node, (*loc, *sub))
        hint = "Change the plan so these settings agree"
    else:
        msg = f"{dotted}: {msg}"
        got = err.get("input")
        if got is not None and not isinstance(got, (dict, list)):
            msg += f" (got {str(got) if isinstance(got, (int, float, Decimal)) else repr(got)})"
        described = _description(loc)
        if described:
            hint = f"{loc[-1]} is {described}"
    return Problem(str(path), line, msg, hint)


def _description(loc: tuple[Any, ...]) -> str | None:
    """The schema's description of the field at ``loc`` (nested sections only), for the hint."""
    model: Any = Plan
    field = None
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if not isinstance(part, str) or fields is None or part not in fields:
            return None
        field = fields[part]
        model = field.annotation
    return field.description if field is not None else None


def _semantic_checks(lp: LoadedPlan, *, check_files: bool) -> list[Problem]:
    plan = lp.plan
    problems: list[Problem] = []
    if check_files:
        for name in ("train", "validation", "test"):
            p = getattr(plan.data, name)
            if p is None:
                continue
            full = lp.resolve(p)
            if not full.exists():
                problems.append(lp.problem(("data", name), f"data.{name} file not found: {full}",
                                           "Fix the path (relative paths are relative to the plan file)"))
            elif full.is_dir():
                problems.append(lp.problem(("data", name), f"data.{name} is a directory: {full}",
                                           "Give a .jsonl, .csv or .parquet file"))
        cf = plan.prices.catalog_file
        if cf is not None and not lp.resolve(cf).is_file():
            problems.append(lp.problem(("prices", "catalog_file"), f"catalog file not found: {lp.resolve(cf)}",
                                       "Fix the path or remove prices.catalog_file"))
    ids = [c.id for c in plan.candidates]
    for i, c in enumerate(plan.candidates):
        if isinstance(c, LocalCandidate) and c.model not in LOCAL_MODELS:
            p = lp.resolve(Path(c.model))
            if not (p.is_dir() and (p / "config.json").is_file()):
                problems.append(lp.problem(
                    ("candidates", i, "model"), f"unknown local model '{c.model}' for candidate '{c.id}'",
                    did_you_mean(c.model, list(LOCAL_MODELS)) + " (or a local Hugging Face directory with config.json)"))
    if plan.baseline is not None:
        if plan.baseline not in ids:
            problems.append(lp.problem(("baseline",), f"baseline '{plan.baseline}' is not a candidate id",
                                       did_you_mean(plan.baseline, ids)))
        else:
            c = plan.candidate(plan.baseline)
            ok = c.kind == "prompting" or (c.kind == "local" and c.method in PROMPTING_LOCAL_METHODS)
            if not ok:
                problems.append(lp.problem(
                    ("baseline",), f"baseline '{plan.baseline}' is a {c.kind} fine-tune, not a prompting baseline",
                    "Point 'baseline' at a prompting candidate (kind: prompting, or a local zero-/few-shot)"))
    if plan.task.target is None:
        problems.append(lp.problem(("task",), "no task.target: the report cannot say whether a candidate is "
                                   "good enough or how many examples the target needs",
                                   "Add e.g. 'target: 0.85' under task", severity="warning"))
    if not any(c.kind == "local" for c in plan.candidates):
        problems.append(lp.problem(("candidates",), "no local candidate: no quality will be measured and no "
                                   "estimate can be calibrated", "Add a kind: local candidate", severity="warning"))
    return problems
