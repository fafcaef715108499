"""The audit result and its JSON form (schema documented in docs/audit-schema.md)."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunewise.audit.license import LicenseInfo
from tunewise.audit.stats import length_stats
from tunewise.errors import Problem

SCHEMA_VERSION = "1.0"


@dataclass
class TokenizerResult:
    name: str
    kind: str
    totals: array  # uint32 token count per valid example, in file order
    input_total: int
    output_total: int
    limit: int | None
    limit_source: str
    over_limit: int
    over_limit_lines: list[int]
    counting: str

    def to_dict(self) -> dict[str, Any]:
        d = length_stats(self.totals, self.input_total, self.output_total)
        d["kind"] = self.kind
        d["counting"] = self.counting
        d["over_limit"] = {"limit": self.limit, "limit_source": self.limit_source, "count": self.over_limit,
                           "lines": self.over_limit_lines}
        return d


@dataclass
class AuditReport:
    path: Path
    format: str
    container: str
    examples: int
    tokens: dict[str, TokenizerResult]
    duplicates: dict[str, Any]
    labels: dict[str, int]
    pii: dict[str, int]
    pii_examples: int
    pii_samples: list[dict[str, Any]]
    pii_enabled: bool
    license: LicenseInfo
    validation: dict[str, Any] | None
    errors: list[Problem]
    warnings: list[Problem]
    n_errors: int
    n_warnings: int
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def task(self) -> str:
        return {"chat": "chat", "completion": "completion", "text-label": "classification", "sharegpt": "chat",
                "alpaca": "completion", "preference": "preference"}[self.format]

    @property
    def ok(self) -> bool:
        """No row errors: the file can be used for fine-tuning as is."""
        return self.n_errors == 0

    def label_stats(self) -> dict[str, Any]:
        if not self.labels:
            return {"classes": 0, "imbalance_ratio": None, "majority": None, "minority": None}
        most = max(self.labels.items(), key=lambda kv: kv[1])
        least = min(self.labels.items(), key=lambda kv: kv[1])
        return {"classes": len(self.labels), "imbalance_ratio": round(most[1] / least[1], 3),
                "majority": most[0], "minority": least[0]}

    def _regulatory(self) -> list[dict[str, Any]]:
        from tunewise.rights.regulatory import gdpr_note

        note = gdpr_note({"pii_examples": self.pii_examples, "pii": self.pii, "examples": self.examples})
        return [note] if note else []

    def to_dict(self) -> dict[str, Any]:
        from tunewise import __version__

        size = self.path.stat().st_size if self.path.is_file() else None
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": f"tunewise {__version__}",
            "file": str(self.path),
            "size_bytes": size,
            "format": self.format,
            "container": self.container,
            "task": self.task,
            "examples": self.examples,
            "invalid": [{"file": p.file, "line": p.line, "error": p.error, "hint": p.hint} for p in self.errors],
            "invalid_total": self.n_errors,
            "warnings": [{"file": p.file, "line": p.line, "warning": p.error, "hint": p.hint} for p in self.warnings],
            "warnings_total": self.n_warnings,
            "tokens": {name: t.to_dict() for name, t in self.tokens.items()},
            "duplicates": self.duplicates,
            "labels": self.labels,
            "label_stats": self.label_stats(),
            "pii": self.pii,
            "pii_examples": self.pii_examples,
            "pii_samples": self.pii_samples,
            "pii_detector": "tunewise.detectors.pii (regex + checksums)" if self.pii_enabled else None,
            "license": self.license.to_dict(),
            "regulatory": self._regulatory(),
            "validation": self.validation,
            "settings": self.settings,
        }
