"""Prompt-injection heuristics: named rules (``injection_rules``) over every *view* of a text.

The views (``normalise.views``) are the text after NFKC, invisible-character removal, tag-character
decoding, look-alike mapping and spaced-letter joining, plus each hidden layer found in it (base64
spans, the ROT13 reading). ``scan(text)`` returns every rule that matched in any view (name, view
index, span in that view, weight); ``score(text)`` sums the weights of distinct rules (0 = nothing
suspicious), adding 0.2 when the instruction only appeared once decoded or de-obfuscated. A text is
treated as an injection when its score reaches ``DEFAULT_THRESHOLD``.

Shared by ``tunewise.guardrails`` (request time) and the audit (training data); depends on neither.
Measured on the corpus in tests/guardrails (``tunewise guardrails eval``; figures in docs/guardrails.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from tunewise.detectors.injection_rules import RULES, Rule
from tunewise.detectors.normalise import normalise, views

DEFAULT_THRESHOLD = 1.0
OBFUSCATION_BONUS = 0.2

__all__ = ["DEFAULT_THRESHOLD", "RULES", "InjectionHit", "Rule", "is_injection", "normalise", "scan", "score"]


@dataclass(frozen=True)
class InjectionHit:
    rule: str
    start: int
    end: int
    weight: float
    matched: str
    view: int = 0          # 0: the normalised text; 1+: a decoded layer (base64 span, ROT13 reading)


def scan(text: str) -> list[InjectionHit]:
    """Every rule that matches in some view of ``text`` (its first match, earliest view first)."""
    hits = []
    texts = views(text)
    for rule in RULES:
        for i, v in enumerate(texts):
            m = rule.pattern.search(v)
            if m:
                hits.append(InjectionHit(rule.name, m.start(), m.end(), rule.weight, m.group(0)[:80], i))
                break
    return hits


def score(text: str, hits: list[InjectionHit] | None = None) -> float:
    hits = scan(text) if hits is None else hits
    total = sum(h.weight for h in hits)
    if hits and (all(h.view > 0 for h in hits) or normalise(text) != text):
        total += OBFUSCATION_BONUS
    return round(total, 4)


def is_injection(text: str, threshold: float = DEFAULT_THRESHOLD) -> bool:
    return score(text) >= threshold
