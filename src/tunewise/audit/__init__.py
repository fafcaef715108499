"""Dataset audit: validation, token counts per tokenizer, length vs context limits, duplicates,
labels, PII, license and provenance, a dataset card and a versioned JSON report.

>>> from tunewise.audit import audit_file
>>> report = audit_file("train.jsonl", tokenizers=("o200k_base",))   # doctest: +SKIP
>>> report.to_dict()["tokens"]["o200k_base"]["total"]                # doctest: +SKIP
"""

from tunewise.audit.card import render_card, write_card
from tunewise.audit.engine import audit_file
from tunewise.audit.report import SCHEMA_VERSION, AuditReport

__all__ = ["SCHEMA_VERSION", "AuditReport", "audit_file", "render_card", "write_card"]
