"""Plan YAML reading that keeps line numbers: numbers with a dot become Decimal (never float), and the
composed node tree lets a pydantic error location be turned into the plan line it came from."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from tunewise.errors import BadInputError, Problem


class _PlanLoader(yaml.SafeLoader):
    """SafeLoader whose floats are Decimal built from the text as written."""


def _decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    text = loader.construct_scalar(node).replace("_", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise yaml.constructor.ConstructorError(None, None, f"'{text}' is not a finite number",
                                                node.start_mark)
    return value


_PlanLoader.add_constructor("tag:yaml.org,2002:float", _decimal)


def read_yaml(path: Path, *, what: str = "plan") -> tuple[Any, yaml.Node | None]:
    """Parse ``path``; return (data, node tree). Bad YAML -> BadInputError naming file:line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInputError(f"{what} file not found: {path}",
                            fix="Check the path, or write a template with `tunewise plan init PLAN.yaml`") from None
    except IsADirectoryError:
        raise BadInputError(f"{what} path is a directory, not a YAML file", where=str(path),
                            fix="Give the plan's .yaml file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read {what} file", where=str(path), why=str(exc),
                            fix="Give a UTF-8 YAML file") from None
    try:
        node = yaml.compose(text, Loader=_PlanLoader)
        data = yaml.load(text, Loader=_PlanLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = str(getattr(exc, "problem", None) or exc).strip()
        raise BadInputError(
            f"malformed {what} YAML", where=f"{path}:{line}" if line else str(path), why=problem,
            fix="Fix the YAML syntax (indentation, colons, quotes) on that line",
            problems=[Problem(str(path), line, f"YAML syntax: {problem}")],
        ) from None
    return data, node


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the value at a pydantic error location (the deepest node that exists).

    Location parts that are not in the document (a union tag such as 'local', a missing field) are
    skipped, so the line is that of the nearest enclosing item the user wrote.
    """
    if node is None:
        return None
    line = node.start_mark.line + 1
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == key:
                    node, line = v, k.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
    return line
