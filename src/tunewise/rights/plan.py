"""Rights for a whole plan: each candidate's base model and its license (the plan's
``base_model_license``, else the catalog's model entry), and the verdict for the plan's data
license and intended use. Used by ``tunewise run``; the report only renders it."""

from __future__ import annotations

from typing import Any

from tunewise.rights.verdict import NOT_LEGAL_ADVICE, verdict


def candidate_base(c: Any, catalog: Any) -> tuple[str | None, str | None, str] | None:
    """(base model, its license id, where the license came from), or None for a candidate that
    trains nothing on the data (a zero-shot prompting baseline)."""
    from tunewise.rights.modelcard import base_model_of

    kind = c.kind
    given = getattr(c, "base_model_license", None)
    if kind == "local":
        if c.method == "zero-shot":
            return None
        base, lic, src = base_model_of(c.model)
    elif kind == "selfhost":
        try:
            m = catalog.open_model(c.family)
            base, lic, src = m.hf_id, m.license, f"catalog entry {m.id} ({m.source_url}, checked {m.checked_on})"
        except Exception:  # noqa: BLE001 - a config.json family or an unknown id: no catalog license
            base, lic, src = c.family, "unknown", f"no catalog entry for {c.family}"
    elif kind == "api-finetune":
        base, lic, src = f"{c.provider}/{c.model}", None, (
            f"{c.provider}'s service terms govern the fine-tuned model (not in the license table: read them)")
    else:  # prompting: the data only supplies few-shot examples
        if not getattr(c, "shots", 0):
            return None
        base, lic, src = f"{c.provider}/{c.model}", None, f"{c.provider}'s service terms (the data is only prompted)"
    if given is not None:
        lic, src = given, "the plan's base_model_license"
    return base, lic, src


def plan_rights(plan: Any, catalog: Any) -> dict[str, Any]:
    use = plan.data.intended_use
    out: dict[str, Any] = {"use": None if use == "unknown" else use, "data_license": plan.data.license,
                           "candidates": {}, "note": NOT_LEGAL_ADVICE}
    if use == "unknown":
        out["missing"] = "no intended use given (data.intended_use: commercial, internal, research): no verdict"
        return out
    for c in plan.candidates:
        base = candidate_base(c, catalog)
        if base is None:
            continue
        base_id, lic, src = base
        v = verdict(plan.data.license, lic, use, base_model=base_id).to_dict()
        if lic is None and c.kind in ("api-finetune", "prompting"):
            v["reasons"].append(src)
        out["candidates"][c.id] = {"base_model": base_id, "base_model_license": lic, "license_from": src, **v}
    return out


def findings(rights: dict[str, Any]) -> list[dict[str, str]]:
    """Report findings: one per candidate whose verdict is not a plain 'allowed'."""
    out = []
    sev = {"not-allowed": "high", "unknown": "medium", "allowed-with-obligations": "info"}
    for cid, v in rights.get("candidates", {}).items():
        if v["status"] == "allowed":
            continue
        detail = "; ".join(v["reasons"])
        if v["obligations"]:
            detail += ". Obligations: " + "; ".join(f"[{o['license']}] {o['text']}" for o in v["obligations"])
        out.append({"severity": sev[v["status"]], "title": f"Rights: {cid} — {v['headline']}",
                    "detail": detail + ". " + NOT_LEGAL_ADVICE, "source": "license table (tunewise.rights)"})
    if rights.get("missing"):
        out.append({"severity": "info", "title": "Rights: no intended use given", "detail": rights["missing"],
                    "source": "plan"})
    return out
