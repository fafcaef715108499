"""YAML reading for every data file tunewise takes (plans, catalogs, alert rules): numbers with a dot
become Decimal built from the text as written (never float), errors carry file:line, and the composed
node tree turns a pydantic error location into the line the user wrote."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from tunewise.errors import BadInputError, Problem

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _DecimalLoader(_Base):  # type: ignore[misc, valid-type]
    """SafeLoader whose floats are Decimal (0.008 stays 0.008); .inf and .nan are refused."""


def _decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    text = loader.construct_scalar(node).replace("_", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise yaml.constructor.ConstructorError(None, None, f"'{text}' is not a finite number", node.start_mark)
    return value


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _decimal)


def read_yaml(path: Path, *, what: str, missing_fix: str) -> tuple[Any, yaml.Node | None]:
    """Parse ``path`` once; return (data, node tree for line lookups). Bad YAML -> BadInputError at file:line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInputError(f"{what} file not found: {path}", fix=missing_fix) from None
    except IsADirectoryError:
        raise BadInputError(f"{what} path is a directory, not a YAML file", where=str(path),
                            fix=f"Give the {what}'s .yaml file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read {what} file", where=str(path), why=str(exc),
                            fix="Check the file's permissions and that it is UTF-8 text") from None
    try:
        loader = _DecimalLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = str(getattr(exc, "problem", None) or exc).strip()
        raise BadInputError(
            f"malformed {what} YAML", where=f"{path}:{line}" if line else str(path), why=problem,
            fix="Fix the YAML syntax (indentation, colons, quotes) on that line",
            problems=[Problem(str(path), line, f"YAML syntax: {problem}")]) from None
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
