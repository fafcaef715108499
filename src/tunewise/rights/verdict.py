"""One verdict for data license + base-model license + intended use.

Statuses, best first: ``allowed``, ``allowed-with-obligations`` (listed), ``unknown`` (the terms are
not in the table or are unsettled for this use: read them), ``not-allowed``.

Uses: ``commercial`` (a product or service for others: the model or its outputs reach third
parties), ``internal`` (inside an organisation, for its business, not distributed),
``research`` / ``non-commercial`` (non-commercial research or teaching; results may be published).

An SPDX expression is judged as written: ``A OR B`` takes the better alternative, ``A AND B``
needs both (the worse status, both sets of obligations). Informational, not legal advice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tunewise.errors import BadInputError, did_you_mean
from tunewise.rights.table import LicenseRow, find

USES = ("commercial", "internal", "research", "non-commercial")
STATUSES = ("not-allowed", "unknown", "allowed-with-obligations", "allowed")  # worst first
NOT_LEGAL_ADVICE = ("Informational reading of the license terms listed as sources; not legal advice. "
                    "Check the terms (and with counsel) before you rely on it.")
_RANK = {s: i for i, s in enumerate(STATUSES)}


@dataclass
class Part:
    """The verdict for one license in one role (data or base model)."""

    role: str                      # "data" | "base model"
    license: str | None            # the id as given
    status: str
    reasons: list[str] = field(default_factory=list)
    obligations: list[dict[str, str]] = field(default_factory=list)  # {license, role, text}
    sources: list[dict[str, str]] = field(default_factory=list)      # {license, url, checked_on, confidence}

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "license": self.license, "status": self.status, "reasons": self.reasons,
                "obligations": self.obligations, "sources": self.sources}


@dataclass
class Verdict:
    status: str
    use: str
    parts: list[Part]

    @property
    def reasons(self) -> list[str]:
        return [r for p in self.parts for r in p.reasons]

    @property
    def obligations(self) -> list[dict[str, str]]:
        seen, out = set(), []
        for p in self.parts:
            for o in p.obligations:
                key = (o["license"], o["text"])
                if key not in seen:
                    seen.add(key)
                    out.append(o)
        return out

    @property
    def sources(self) -> list[dict[str, str]]:
        seen, out = set(), []
        for p in self.parts:
            for s in p.sources:
                if s["license"] not in seen:
                    seen.add(s["license"])
                    out.append(s)
        return out

    def headline(self) -> str:
        what = {"allowed": "allowed", "allowed-with-obligations": "allowed with obligations",
                "unknown": "unknown (read the terms)", "not-allowed": "not allowed"}[self.status]
        lic = " + ".join(f"{p.role} {p.license or 'no license'}" for p in self.parts)
        return f"{self.use} use: {what} ({lic})"

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "use": self.use, "headline": self.headline(), "reasons": self.reasons,
                "obligations": self.obligations, "sources": self.sources,
                "parts": [p.to_dict() for p in self.parts], "note": NOT_LEGAL_ADVICE}


def check_use(use: str) -> str:
    if use not in USES:
        raise BadInputError(f"unknown intended use '{use}'", fix=did_you_mean(use, USES))
    return use


def _source(row: LicenseRow) -> dict[str, str]:
    return {"license": row.id, "name": row.name, "url": str(row.source_url), "checked_on": row.checked_on.isoformat(),
            "confidence": row.confidence}


def judge_row(row: LicenseRow, use: str, role: str) -> Part:
    """One table row for one use."""
    needs_commercial = use in ("commercial", "internal")
    part = Part(role, row.id, "allowed", sources=[_source(row)])
    if needs_commercial and (row.commercial == "no" or row.research_only):
        what = "is for research only" if row.research_only else "does not allow commercial use"
        part.status = "not-allowed"
        part.reasons.append(f"{role} license {row.id} {what}" +
                            (" (internal use inside a business counts as commercial)" if use == "internal" else ""))
        return part
    if use == "commercial" and row.no_derivatives:
        part.status = "unknown"
        part.reasons.append(f"{role} license {row.id} forbids sharing adapted material; whether a model trained "
                            "on it is adapted material is unsettled")
    if row.model_output_terms:
        part.reasons.append(f"{role} license {row.id}: terms on model-generated data restrict what models it may train")
    for ob in row.obligations:
        applies = (ob.when == "use" or (ob.when == "commercial" and needs_commercial)
                   or (ob.when == "distribute" and use in ("commercial", "research", "non-commercial")))
        if not applies:
            continue
        text = ob.text if not (ob.when == "distribute" and use in ("research", "non-commercial")) \
            else f"if you publish the model or data: {ob.text}"
        part.obligations.append({"license": row.id, "role": role, "text": text})
    if part.status == "allowed" and (part.obligations or row.commercial == "conditional"):
        part.status = "allowed-with-obligations"
    if part.status != "unknown":
        part.reasons.append(f"{role} license {row.id} allows {use} use" +
                            (" under conditions" if part.status == "allowed-with-obligations" else ""))
    return part


def _unlisted(key: str, use: str, role: str) -> Part:
    """A license id not in the table: SPDX ids fall back to the ScanCode LicenseDB category."""
    from tunewise.audit.license import classify_symbol

    cls = classify_symbol(key)
    if cls == "non-commercial" and use in ("commercial", "internal"):
        return Part(role, key, "not-allowed", [f"{role} license {key} does not allow commercial use"])
    if cls == "non-commercial" or cls == "commercial":
        return Part(role, key, "allowed-with-obligations",
                    [f"{role} license {key} is not in tunewise's license table; its category allows {use} use"],
                    [{"license": key, "role": role, "text": f"follow the terms of {key} (not in the table: read them)"}])
    return Part(role, key, "unknown", [f"{role} license {key} is not in tunewise's license table: read its terms"])


def _symbol(key: str, use: str, role: str) -> Part:
    row = find(key)
    return judge_row(row, use, role) if row is not None else _unlisted(key, use, role)


def _combine(parts: list[Part], role: str, label: str, any_of: bool) -> Part:
    if any_of:
        best = max(parts, key=lambda p: (_RANK[p.status], -len(p.obligations)))
        return Part(role, label, best.status, best.reasons, best.obligations, best.sources)
    worst = min(_RANK[p.status] for p in parts)
    return Part(role, label, STATUSES[worst], [r for p in parts for r in p.reasons],
                [o for p in parts for o in p.obligations], [s for p in parts for s in p.sources])


def judge_expression(expression: str | None, use: str, role: str = "data") -> Part:
    """A data license as an SPDX expression (or one table id) for one use."""
    if expression is None or not str(expression).strip():
        return Part(role, None, "unknown", [f"no {role} license is recorded"])
    expression = str(expression).strip()
    if find(expression) is not None:  # a table id or alias that is not SPDX syntax (e.g. llama3.1)
        return _symbol(expression, use, role)
    from tunewise.audit.license import spdx_licensing

    lic = spdx_licensing()
    try:
        parsed = lic.parse(expression, validate=False)
    except Exception as exc:  # noqa: BLE001 - license-expression raises several parse error types
        return Part(role, expression, "unknown", [f"{role} license '{expression}' cannot be parsed: {exc}"])
    if parsed is None:
        return Part(role, expression, "unknown", [f"no {role} license is recorded"])

    def walk(node: Any) -> Part:
        if isinstance(node, (lic.OR, lic.AND)):
            return _combine([walk(a) for a in node.args], role, str(node), isinstance(node, lic.OR))
        text = str(node)
        return _symbol(text.split(" WITH ")[0] if " WITH " in text else getattr(node, "key", text), use, role)

    out = walk(parsed)
    out.license = expression
    return out


def verdict(data_license: str | None, base_model_license: str | None, use: str, *,
            base_model: str | None = None) -> Verdict:
    """The verdict for training on ``data_license`` data from a ``base_model_license`` base for ``use``.

    ``base_model_license`` None means no pretrained base (e.g. TF-IDF + logistic regression): the
    data decides alone. The string ``unknown`` (or an unlisted id) gives an ``unknown`` part."""
    check_use(use)
    parts = [judge_expression(data_license, use, "data")]
    if base_model_license is not None:
        role = "base model"
        if base_model_license.strip().lower() in ("unknown", ""):
            part = Part(role, None, "unknown", [f"the base model{f' {base_model}' if base_model else ''} has no "
                                                "recorded license: read its model card"])
        else:
            part = judge_expression(base_model_license, use, role)
        parts.append(part)
    status = STATUSES[min(_RANK[p.status] for p in parts)]
    return Verdict(status, use, parts)
