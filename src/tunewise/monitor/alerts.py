"""Alert thresholds from a YAML file, checked against a monitor summary.

```yaml
alerts:
  - name: p95 latency above 250 ms
    metric: latency_ms.p95          # dotted path into the current window's summary
    op: ">"                         # one of > >= < <= == !=
    threshold: 250
  - name: dataset drift
    metric: drift.dataset_drift
    op: "=="
    threshold: true
```
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from tunewise.errors import BadInputError, Problem, did_you_mean

OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne}


@dataclass(frozen=True)
class AlertRule:
    name: str
    metric: str
    op: str
    threshold: Any
    line: int | None = None


def load_rules(path: Path) -> list[AlertRule]:
    """Parse and validate the thresholds file; every bad entry is reported together with its line."""
    from tunewise._yaml import read_yaml

    path = Path(path)
    if not path.is_file() and not path.is_dir():
        raise BadInputError(f"alerts file not found: {path}", where="--alerts", fix="Pass an existing YAML file")
    data, node = read_yaml(path, what="alerts", missing_fix="Pass an existing YAML file to --alerts")
    if not isinstance(data, dict) or not isinstance(data.get("alerts"), list):
        raise BadInputError("alerts file must have a top-level 'alerts:' list", where=str(path),
                            fix="See `tunewise monitor --help` for the format")
    lines = _item_lines(node)
    rules, problems = [], []
    for i, item in enumerate(data["alerts"]):
        line = lines[i] if i < len(lines) else None
        if not isinstance(item, dict):
            problems.append(Problem(str(path), line, f"alerts[{i}] must be a mapping", "Give name, metric, op, threshold"))
            continue
        unknown = set(item) - {"name", "metric", "op", "threshold"}
        for k in sorted(unknown):
            problems.append(Problem(str(path), line, f"alerts[{i}]: unknown field '{k}'",
                                    did_you_mean(k, ["name", "metric", "op", "threshold"])))
        for k in ("metric", "op", "threshold"):
            if k not in item:
                problems.append(Problem(str(path), line, f"alerts[{i}]: missing '{k}'"))
        op = item.get("op")
        if op is not None and op not in OPS:
            problems.append(Problem(str(path), line, f"alerts[{i}]: unknown op '{op}'", did_you_mean(str(op), list(OPS))))
        if not unknown and all(k in item for k in ("metric", "op", "threshold")) and op in OPS:
            rules.append(AlertRule(str(item.get("name") or f"{item['metric']} {op} {item['threshold']}"),
                                   str(item["metric"]), op, item["threshold"], line))
    if problems:
        raise BadInputError(f"{len(problems)} problem(s) in the alerts file", where=str(path), problems=problems,
                            fix="Fix the entries listed below")
    return rules


def _item_lines(node) -> list[int]:  # noqa: ANN001
    try:
        for k, v in node.value:
            if k.value == "alerts":
                return [n.start_mark.line + 1 for n in v.value]
    except (AttributeError, TypeError):
        pass
    return []


def flatten(summary: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in summary.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif not isinstance(v, list):
            out[key] = v
    return out


def evaluate(rules: list[AlertRule], summary: dict[str, Any], *, path: str = "--alerts") -> list[dict[str, Any]]:
    """Rules whose condition holds on ``summary``. Unknown metric paths are bad input (with suggestions)."""
    flat = flatten(summary)
    problems = [Problem(path, r.line, f"unknown metric '{r.metric}'", did_you_mean(r.metric, list(flat)))
                for r in rules if r.metric not in flat]
    if problems:
        raise BadInputError("the alerts file names metrics the monitor does not produce", where=path,
                            problems=problems, fix="Use one of the metric paths listed")
    fired = []
    for r in rules:
        value = flat[r.metric]
        if value is None:
            continue  # not measurable in this window (e.g. too few requests); not an alert
        left, right = _comparable(value), _comparable(r.threshold)
        try:
            hit = OPS[r.op](left, right)
        except TypeError:
            raise BadInputError(f"cannot compare {r.metric} ({value!r}) with {r.threshold!r}", where=f"{path}:{r.line}",
                                fix="Use a number for numeric metrics and true/false for flags") from None
        if hit:
            fired.append({"name": r.name, "metric": r.metric, "op": r.op, "threshold": str(r.threshold),
                          "value": str(value),
                          "message": f"{r.name}: {r.metric} = {_fmt(value)} {r.op} {r.threshold}"})
    return fired


def _comparable(v: Any) -> Any:
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, (int, float, Decimal)):
        return Decimal(str(v))
    if isinstance(v, str):
        try:
            return Decimal(v)
        except InvalidOperation:
            return v
    return v


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
