"""License and provenance: SPDX expressions parsed and validated with the ``license-expression``
library, classified for commercial use, and a sidecar ``datacard.yaml``.

Classification of one license (``classify_symbol``):
- non-commercial: SPDX ids with the Creative Commons "NC" element (CC-BY-NC-*, …) and LicenseRef ids
  that say research-only or non-commercial;
- commercial: licenses that ScanCode LicenseDB (the index bundled in ``license-expression``) files as
  Permissive, Public Domain, Copyleft or Copyleft Limited — these allow commercial use, copyleft ones
  with share-alike conditions;
- unknown: everything else (Source-available, Free Restricted, Proprietary Free, Commercial, unknown
  LicenseRef ids, no license given) — read the terms.
For an expression, ``A OR B`` takes the best option and ``A AND B`` the most restrictive one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from tunewise.errors import BadInputError, Problem

COMMERCIAL_CATEGORIES = frozenset({"Permissive", "Public Domain", "Copyleft", "Copyleft Limited"})
_RANK = {"non-commercial": 0, "unknown": 1, "commercial": 2}
DATACARD_KEYS = ("license", "source", "name", "description", "language", "collection", "consent",
                 "preprocessing", "intended_uses", "limitations", "maintainer", "citation")


@dataclass
class LicenseInfo:
    expression: str | None
    normalized: str | None
    valid: bool
    use: str  # commercial | non-commercial | unknown
    licenses: dict[str, str] = field(default_factory=dict)  # id -> classification
    errors: list[str] = field(default_factory=list)
    source: str | None = None
    provenance_from: str | None = None  # "options" | path of the datacard.yaml | None
    intended_use: str | None = None
    warnings: list[str] = field(default_factory=list)
    datacard: dict[str, Any] = field(default_factory=dict)
    base_model_license: str | None = None
    verdict: dict[str, Any] | None = None  # tunewise.rights verdict for data + base model + intended use

    def to_dict(self) -> dict[str, Any]:
        return {"expression": self.expression, "normalized": self.normalized, "valid": self.valid,
                "use": self.use, "licenses": self.licenses, "errors": self.errors, "source": self.source,
                "provenance_from": self.provenance_from, "intended_use": self.intended_use,
                "base_model_license": self.base_model_license, "verdict": self.verdict, "warnings": self.warnings,
                "datacard": self.datacard}


@lru_cache(maxsize=1)
def spdx_licensing():  # noqa: ANN202
    """license-expression's SPDX licensing (its license index loads once per process)."""
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


@lru_cache(maxsize=1)
def _categories() -> dict[str, str]:
    from license_expression import get_license_index

    out: dict[str, str] = {}
    for entry in get_license_index():
        cat = entry.get("category") or ""
        for key in [entry.get("spdx_license_key"), *(entry.get("other_spdx_license_keys") or [])]:
            if key:
                out[key.lower()] = cat
    return out


def classify_symbol(key: str) -> str:
    low = key.lower()
    if "nc" in low.replace("_", "-").split("-") or any(w in low for w in ("noncommercial", "non-commercial",
                                                                          "research")):
        return "non-commercial"
    return "commercial" if _categories().get(low) in COMMERCIAL_CATEGORIES else "unknown"


def _classify_expr(expr: Any) -> str:
    lic = spdx_licensing()
    if isinstance(expr, lic.OR):
        return max((_classify_expr(a) for a in expr.args), key=_RANK.__getitem__)
    if isinstance(expr, lic.AND):
        return min((_classify_expr(a) for a in expr.args), key=_RANK.__getitem__)
    key = getattr(expr, "key", None) or str(expr)
    if " WITH " in str(expr):  # license WITH exception: the license decides
        key = str(expr).split(" WITH ")[0]
    return classify_symbol(key)


def parse_license(expression: str | None) -> LicenseInfo:
    if expression is None or not expression.strip():
        return LicenseInfo(None, None, False, "unknown", errors=["no license given"])
    lic = spdx_licensing()
    try:
        parsed = lic.parse(expression, validate=False)
        info = lic.validate(expression, strict=False)
    except Exception as exc:  # noqa: BLE001 - license-expression raises several parse error types
        return LicenseInfo(expression, None, False, "unknown", errors=[f"cannot parse: {exc}"])
    if parsed is None:
        return LicenseInfo(expression, None, False, "unknown", errors=["empty license expression"])
    licenses = {}
    for sym in lic.license_symbols(parsed, unique=True, decompose=True):
        key = sym.key
        known = key.lower() in _categories()
        licenses[key] = classify_symbol(key) if (known or key.lower().startswith("licenseref-")) else "unknown"
    errors = list(info.errors)
    custom = [k for k in info.invalid_symbols if k.lower().startswith("licenseref-")]
    # LicenseRef-* ids are valid SPDX for licenses outside the list; they just are not in the index.
    errors = [e for e in errors if not (custom and set(info.invalid_symbols) <= set(custom))]
    use = _classify_expr(parsed)
    return LicenseInfo(expression, info.normalized_expression or str(parsed), not errors, use, licenses, errors)


def read_datacard(path: Path) -> tuple[dict[str, Any], Path | None]:
    """The sidecar card next to the data file: ``<file>.datacard.yaml`` or ``datacard.yaml`` in its dir."""
    import yaml

    for card in (path.with_name(path.name + ".datacard.yaml"), path.parent / "datacard.yaml"):
        if card.is_file():
            try:
                data = yaml.safe_load(card.read_text(encoding="utf-8")) or {}
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                mark = getattr(exc, "problem_mark", None)
                line = mark.line + 1 if mark is not None else 1
                raise BadInputError("cannot read the data card", where=f"{card}:{line}", why=str(exc).splitlines()[0],
                                    fix="Fix the YAML (keys: " + ", ".join(DATACARD_KEYS) + ")") from None
            if not isinstance(data, dict):
                raise BadInputError("data card must be a YAML mapping", where=f"{card}:1",
                                    fix="Write key: value lines (" + ", ".join(DATACARD_KEYS) + ")")
            unknown = [k for k in data if k not in DATACARD_KEYS]
            if unknown:
                from tunewise.errors import did_you_mean

                raise BadInputError(f"unknown data card key '{unknown[0]}'", where=f"{card}:1",
                                    fix=did_you_mean(str(unknown[0]), list(DATACARD_KEYS)))
            return {k: (str(v) if v is not None and not isinstance(v, (list, dict)) else v)
                    for k, v in data.items()}, card
    return {}, None


def provenance(path: Path, *, license: str | None, source: str | None,  # noqa: A002 - CLI name
               intended_use: str | None, base_model_license: str | None = None) -> tuple[LicenseInfo, list[Problem]]:
    """License + source from the options, else from the sidecar card; warnings for risky use; with an
    intended use, the rights verdict for data + base model (``tunewise.rights.verdict``)."""
    card, card_path = read_datacard(path)
    expr = license if license is not None else card.get("license")
    info = parse_license(expr)
    info.datacard = card
    info.source = source if source is not None else card.get("source")
    info.provenance_from = ("options" if (license or source) else None) or (str(card_path) if card_path else None)
    info.intended_use = intended_use
    problems: list[Problem] = []
    where = str(card_path) if (card_path and license is None and "license" in card) else str(path)

    def warn(msg: str, hint: str) -> None:
        info.warnings.append(msg)
        problems.append(Problem(where, None, msg, hint, "warning"))

    if info.expression and not info.valid:
        warn(f"license '{info.expression}' is not a valid SPDX expression ({'; '.join(info.errors)})",
             "Use SPDX ids (https://spdx.org/licenses/) or LicenseRef-<name> for custom terms")
    info.base_model_license = base_model_license
    if intended_use in ("commercial", "internal", "research", "non-commercial"):
        from tunewise.rights import verdict

        v = verdict(expr, base_model_license, intended_use)
        info.verdict = v.to_dict()
        base = next((p for p in v.parts if p.role == "base model"), None)
        if base is not None and base.status == "not-allowed":
            warn(f"base model license '{base_model_license}' does not allow {intended_use} use",
                 "Pick a base model whose license allows it (tunewise catalog lists each model's license)")
    if intended_use in ("commercial", "internal"):
        if info.use == "non-commercial":
            warn(f"license '{info.expression}' does not allow commercial use"
                 + (" (internal use inside a business counts as commercial)" if intended_use == "internal" else ""),
                 "Get another license for this data or do not use it for a commercial model")
        elif info.use == "unknown":
            what = "no license is recorded" if not info.expression else f"license '{info.expression}' is unclear for commercial use"
            warn(f"{what} and the intended use is {intended_use}",
                 "Pass --license SPDX-EXPR (or add license: to datacard.yaml) after checking the terms")
    return info, problems
