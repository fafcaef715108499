"""YAML reading for catalog files: numbers become Decimal (never float), errors carry file:line."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from tunewise.errors import BadInputError, Problem


_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _DecimalLoader(_Base):  # type: ignore[misc, valid-type]
    """SafeLoader whose floats are Decimal built from the text as written (0.008 stays 0.008)."""


def _decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    text = loader.construct_scalar(node).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation:  # .inf / .nan are not prices
        mark = node.start_mark
        raise yaml.constructor.ConstructorError(
            None, None, f"'{text}' is not a finite decimal number", mark) from None


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _decimal)


def read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """Parse ``path``; return (data, node tree for line lookups). Bad YAML -> BadInputError file:line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInputError(f"catalog file not found: {path}",
                            fix="Check the path given to --catalog-file or TUNEWISE_CATALOG") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read catalog file {path}", why=str(exc),
                            fix="Give a UTF-8 YAML file") from None
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
        problem = getattr(exc, "problem", None) or str(exc)
        raise BadInputError(
            "malformed catalog YAML", where=f"{path}:{line}" if line else str(path),
            why=str(problem).strip(), fix="Fix the YAML syntax (indentation, colons, quotes) on that line",
            problems=[Problem(str(path), line, f"YAML syntax: {str(problem).strip()}")],
        ) from None
    return data, node


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the value at pydantic error location ``loc`` (deepest node found)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == key:
                    node, line = v, k.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line
