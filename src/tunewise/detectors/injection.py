"""Prompt-injection heuristics: named regular-expression rules over normalised text.

``scan(text)`` returns every rule that matched (name, span, weight); ``score(text)`` sums the weights
of distinct rules (0 = nothing suspicious). A text is treated as an injection when its score reaches
``DEFAULT_THRESHOLD``. The rules look for the *act* of overriding instructions (an imperative aimed at
the model's instructions, a fake system/role turn, a request to reveal the hidden prompt), not for
trigger words alone, so benign text that merely mentions "ignore" or "system" is not flagged.

Shared by ``tunewise.guardrails`` (request time) and the audit (training data); depends on neither.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

DEFAULT_THRESHOLD = 1.0

_OVERRIDE_VERB = r"(?:ignore|disregard|forget|override|bypass|skip|drop|abandon|neglect)"
_DET = r"(?:all|any|each|every|of|the|your|my|these|those|its|our)"
_PRIOR = r"(?:previous|prior|above|earlier|preceding|original|initial|system|existing|old|given|developer)"
_INSTR = r"(?:instructions?|prompts?|rules?|directions?|guidelines?|context|messages?|commands?|constraints?|polic(?:y|ies)|programming)"


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    weight: float
    description: str


@dataclass(frozen=True)
class InjectionHit:
    rule: str
    start: int
    end: int
    weight: float
    matched: str


def _r(p: str) -> re.Pattern[str]:
    return re.compile(p, re.IGNORECASE | re.DOTALL)


RULES: tuple[Rule, ...] = (
    Rule("override_instructions",
         _r(rf"\b{_OVERRIDE_VERB}\s+(?:{_DET}\s+){{0,3}}{_PRIOR}\s+(?:[\w-]+\s+)?{_INSTR}\b"), 1.0,
         "tells the model to ignore/forget its earlier instructions"),
    Rule("override_instructions_short",
         _r(rf"\b{_OVERRIDE_VERB}\s+(?:all|everything)\s+(?:you\s+(?:were|have\s+been)\s+told|above|before)\b"), 1.0,
         "'ignore everything above' and similar"),
    Rule("new_instructions",
         _r(r"\b(?:new|updated|real|actual|true)\s+(?:system\s+)?instructions?\s*(?::|are|follow)"), 0.6,
         "announces replacement instructions"),
    Rule("reveal_prompt",
         _r(r"\b(?:reveal|print|show|repeat|output|display|leak|tell\s+me|what\s+(?:is|are|was|were))\b[^.\n]{0,30}?"
            r"\b(?:your|the)\s+(?:system\s+|hidden\s+|secret\s+|initial\s+|original\s+)+(?:prompt|instructions?|message|rules)"), 1.0,
         "asks for the hidden/system prompt"),
    Rule("role_override",
         _r(r"\b(?:you\s+are\s+now|from\s+now\s+on,?\s+you\s+(?:are|will)|pretend\s+(?:to\s+be|you\s+are)|act\s+as\s+(?:an?\s+)?"
            r"(?:unrestricted|unfiltered|jailbroken|evil|uncensored))"), 0.6,
         "reassigns the model's role"),
    Rule("jailbreak_persona",
         _r(r"\b(?:DAN|do\s+anything\s+now|developer\s+mode|jailbreak(?:ed)?|god\s+mode|no\s+restrictions|"
            r"without\s+(?:any\s+)?(?:restrictions|filters|limitations|censorship))\b"), 0.6,
         "known jailbreak personas and phrasings"),
    Rule("fake_turn_marker",
         _r(r"(?:<\|im_start\|>\s*(?:system|assistant)|<\|(?:system|assistant)\|>|\[/?INST\]|<</?SYS>>|"
            r"^\s*#{2,}\s*(?:system|assistant)\s*:?|^\s*(?:system|assistant)\s*:\s|</?system>)"), 1.0,
         "injects a fake chat-template or role turn"),
    Rule("stop_classifying",
         _r(r"\b(?:do\s+not|don't|stop)\s+(?:classify|label|categori[sz]e|answer|follow)\b[^.\n]{0,40}?\b(?:instead|and\s+(?:say|output|print|respond))"), 0.6,
         "tells the model to stop its task and do something else"),
    Rule("forced_output",
         _r(r"\b(?:always\s+)?(?:respond|reply|answer|output|say|print)\s+(?:only\s+)?(?:with\s+)?[\"'](?:[^\"'\n]{1,40})[\"']\s+"
            r"(?:no\s+matter|regardless|whatever)"), 0.6,
         "forces a fixed output regardless of input"),
    Rule("encoded_payload",
         _r(r"(?:[A-Za-z0-9+/]{80,}={0,2})"), 0.4,
         "a long base64-like blob that may hide instructions"),
)


def normalise(text: str) -> str:
    """NFKC, zero-width characters removed, so look-alike tricks do not dodge the rules."""
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"[\u200b-\u200f\u2060\ufeff]", "", text)


def scan(text: str) -> list[InjectionHit]:
    """Every rule that matches ``text`` (first match per rule). Spans refer to the normalised text."""
    norm = normalise(text)
    hits = []
    for rule in RULES:
        m = rule.pattern.search(norm)
        if m:
            hits.append(InjectionHit(rule.name, m.start(), m.end(), rule.weight, m.group(0)[:80]))
    return hits


def score(text: str) -> float:
    return round(sum(h.weight for h in scan(text)), 4)


def is_injection(text: str, threshold: float = DEFAULT_THRESHOLD) -> bool:
    return score(text) >= threshold
