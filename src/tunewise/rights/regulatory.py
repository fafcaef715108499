"""Regulatory flags, informational, each with its sources; not legal advice.

- EU AI Act, general-purpose AI models: the Commission's guidelines treat a downstream modifier as
  the provider of the modified model when the modification uses more than one third of the
  original model's training compute. tunewise states the ratio of a fine-tune's estimated FLOPs to
  the base model's training FLOPs where the catalog records the latter (with its source).
- GDPR: personal data found in the training set -> a note on lawful basis and redaction.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tunewise.rights.verdict import NOT_LEGAL_ADVICE

CHECKED = "2026-12-02"
AI_ACT = {"name": "Regulation (EU) 2024/1689 (AI Act), Art. 3(63) and Chapter V (GPAI models)",
          "url": "https://eur-lex.europa.eu/eli/reg/2024/1689/oj", "checked_on": CHECKED}
GPAI_GUIDELINES = {"name": "European Commission, Guidelines on the scope of the obligations for providers of "
                           "general-purpose AI models (July 2025): downstream modifiers",
                   "url": "https://digital-strategy.ec.europa.eu/en/library/"
                          "guidelines-scope-obligations-providers-general-purpose-ai-models-under-ai-act",
                   "checked_on": CHECKED}
GDPR = {"name": "Regulation (EU) 2016/679 (GDPR), Art. 5, 6, 9 and 35",
        "url": "https://eur-lex.europa.eu/eli/reg/2016/679/oj", "checked_on": CHECKED}
EDPB = {"name": "EDPB Opinion 28/2024 on data protection aspects of AI models",
        "url": "https://www.edpb.europa.eu/our-work-tools/our-documents/opinion-board-art-64/"
               "opinion-282024-certain-data-protection-aspects_en", "checked_on": CHECKED}
ONE_THIRD = Decimal(1) / Decimal(3)


def gpai_ratio(candidate: str, finetune_flops: Decimal | None, base: Any | None) -> dict[str, Any] | None:
    """The one-third flag for one candidate; None when there is no fine-tune compute to compare."""
    if finetune_flops is None or base is None:
        return None
    flag: dict[str, Any] = {"id": "eu-ai-act-gpai-modification", "candidate": candidate,
                            "finetune_flops": f"{finetune_flops:.3g}", "note": NOT_LEGAL_ADVICE}
    base_flops = getattr(base, "training_flops", None)
    if base_flops is None:
        flag.update(level="info", ratio=None, title=f"EU AI Act: {candidate} — base model's training compute unknown",
                    detail=f"The catalog has no training compute for {base.id}, so the fine-tune's share of it "
                           "(the guidelines' one-third test for becoming the provider of a modified GPAI model) "
                           "cannot be stated; the guidelines give fall-back thresholds for that case.",
                    sources=[GPAI_GUIDELINES, AI_ACT])
        return flag
    ratio = Decimal(finetune_flops) / Decimal(base_flops)
    over = ratio > ONE_THIRD
    flag.update(
        level="review" if over else "info", ratio=f"{ratio:.3g}", base_training_flops=f"{base_flops:.3g}",
        title=f"EU AI Act: {candidate} uses {ratio:.2g} of {base.id}'s training compute"
              + (" — over one third" if over else " — under one third"),
        detail=(f"Fine-tune ~{finetune_flops:.2g} FLOPs (estimated) vs {base.id} pre-training ~{base_flops:.2g} FLOPs "
                f"({base.training_flops_note or 'catalog'}; {base.training_flops_source}). "
                + ("Above one third, the Commission's guidelines presume the modifier becomes the provider of a "
                   "general-purpose AI model, with the provider obligations of Art. 53 for the modification."
                   if over else
                   "Below one third, the guidelines do not presume the modifier becomes the provider of the "
                   "modified general-purpose AI model.")),
        sources=[GPAI_GUIDELINES, AI_ACT, {"name": f"{base.id} training compute", "url": base.training_flops_source}])
    return flag


def gdpr_note(audit: dict[str, Any], *, redacted: bool = False) -> dict[str, Any] | None:
    """A note when the audit found personal data in the training set."""
    n = audit.get("pii_examples") or 0
    if not n:
        return None
    kinds = ", ".join(f"{k} {v}" for k, v in sorted((audit.get("pii") or {}).items()))
    return {"id": "gdpr-personal-data", "level": "review", "note": NOT_LEGAL_ADVICE,
            "title": f"GDPR: personal data in {n} of {audit.get('examples')} training examples",
            "detail": (f"Found by tunewise's detectors ({kinds}). If it relates to people in the EU, training on "
                       "it is processing under the GDPR: it needs a lawful basis (Art. 6; Art. 9 for special "
                       "categories), data minimisation (Art. 5(1)(c)) and possibly a DPIA (Art. 35); a model "
                       "trained on it is not anonymous by default (EDPB Opinion 28/2024). Redaction: "
                       + ("done before training." if redacted else
                          "not done — tunewise only detects; redact (tunewise.detectors.pii.redact) or "
                          "document the lawful basis.")),
            "sources": [GDPR, EDPB]}


def finetune_flops(estimate: dict[str, Any], method: str, base: Any) -> Decimal | None:
    """k x N x tokens processed for a self-host estimate (k as the estimator's: 6 full, 4 LoRA/QLoRA)."""
    from tunewise.estimate.assumptions import FLOPS_PER_PARAM_TOKEN

    tok = (estimate.get("billed_tokens") or {}).get("expected")
    if tok is None or base is None:
        return None
    return FLOPS_PER_PARAM_TOKEN.get(method, Decimal(6)) * Decimal(base.flops_params) * Decimal(str(tok))


def plan_flags(plan: Any, catalog: Any, audit: dict[str, Any], estimates: dict[str, Any],
               pilots: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every flag for a run: GDPR from the audit, the GPAI ratio per self-host candidate (estimated
    FLOPs) and per local pilot (6 x parameters x measured training tokens)."""
    flags = [f for f in [gdpr_note(audit)] if f]
    est = estimates.get("candidates") or {}
    from tunewise.rights.modelcard import LOCAL_BASES

    for c in plan.candidates:
        base, ft = None, None
        if c.kind == "selfhost":
            try:
                base = catalog.open_model(c.family)
            except Exception:  # noqa: BLE001 - a config.json family has no catalog entry
                continue
            ft = finetune_flops(est.get(c.id) or {}, c.method, base)
        elif c.kind == "local" and LOCAL_BASES.get(c.model):
            base = catalog.open_model(LOCAL_BASES[c.model])
            tr = (pilots.get(c.id) or {}).get("training") or {}
            if tr.get("tokens"):
                ft = Decimal(6) * Decimal(base.flops_params) * Decimal(int(tr["tokens"]))
        f = gpai_ratio(c.id, ft, base)
        if f:
            flags.append(f)
    return flags


def findings(flags: list[dict[str, Any]]) -> list[dict[str, str]]:
    sev = {"review": "medium", "info": "info"}
    return [{"severity": sev[f["level"]], "title": f["title"],
             "detail": f["detail"] + " Sources: " + "; ".join(f"{s['name']} ({s['url']})" for s in f["sources"])
                       + ". " + NOT_LEGAL_ADVICE, "source": "regulatory flags (tunewise.rights)"} for f in flags]
