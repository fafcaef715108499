"""The guardrail engine: input checks (injection, PII) and output checks (allowed label, valid JSON)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from tunewise.detectors import injection
from tunewise.errors import BadInputError, did_you_mean

if TYPE_CHECKING:  # pragma: no cover
    from tunewise.guardrails.classifier import InjectionClassifier

MODES = ("block", "flag")


@dataclass(frozen=True)
class Decision:
    """One guardrail decision: which stage, which rule fired, what was done."""

    stage: str      # input | output
    rule: str       # e.g. injection.override_instructions, injection.classifier, pii.EMAIL, output.label_allowed
    action: str     # block | flag | redact | allow
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class InputVerdict:
    action: str                         # allow | flag | block (the strongest decision)
    decisions: list[Decision] = field(default_factory=list)
    text_for_model: str = ""
    text_for_store: str = ""


@dataclass
class OutputVerdict:
    ok: bool
    decisions: list[Decision] = field(default_factory=list)
    text_for_store: str | None = None


def _pii():  # noqa: ANN202 - the shared detector module (written by the audit)
    from tunewise.detectors import pii

    return pii


class Guardrails:
    """Input and output checks for one served model.

    mode: ``block`` refuses requests whose injection score reaches the threshold; ``flag`` serves them
    and records the decision. PII is always redacted before storage; with ``redact_before_model`` the
    model sees the redacted text too.
    """

    def __init__(self, *, mode: str = "block", redact_before_model: bool = False,
                 injection_threshold: float = injection.DEFAULT_THRESHOLD,
                 classifier: InjectionClassifier | None = None, redact_pii: bool = True) -> None:
        if mode not in MODES:
            raise BadInputError(f"unknown guard mode '{mode}'", where="--guard-mode", fix=did_you_mean(mode, MODES))
        self.mode = mode
        self.redact_before_model = redact_before_model
        self.injection_threshold = injection_threshold
        self.classifier = classifier
        self.redact_pii = redact_pii
        if redact_pii:
            _pii()  # fail at start-up, not on the first request

    def describe(self) -> dict[str, object]:
        return {"mode": self.mode, "redact_before_model": self.redact_before_model,
                "injection_threshold": self.injection_threshold,
                "injection_rules": [r.name for r in injection.RULES],
                "classifier": self.classifier.describe() if self.classifier else None}

    # ---- input -----------------------------------------------------------------------------
    def check_inputs(self, texts: list[str]) -> list[InputVerdict]:
        probs = self.classifier.injection_probability(texts) if self.classifier else [None] * len(texts)
        return [self._check_one(t, p) for t, p in zip(texts, probs, strict=True)]

    def check_input(self, text: str) -> InputVerdict:
        return self.check_inputs([text])[0]

    def _check_one(self, text: str, classifier_prob: float | None) -> InputVerdict:
        decisions: list[Decision] = []
        hits = injection.scan(text)
        total = injection.score(text, hits)
        suspicious = total >= self.injection_threshold
        act = self.mode if suspicious else "flag"
        for h in hits:
            where = "" if h.view == 0 else " (in a decoded layer)"
            decisions.append(Decision("input", f"injection.{h.rule}", act,
                                      f"weight {h.weight}{where}; score {total:.2f} vs threshold {self.injection_threshold}"))
        if classifier_prob is not None and classifier_prob >= self.classifier.threshold:
            suspicious = True
            decisions.append(Decision("input", "injection.classifier", self.mode,
                                      f"p(injection)={classifier_prob:.3f} >= {self.classifier.threshold}"))
        stored = text
        if self.redact_pii:
            pii = _pii()
            found = pii.find_pii(text)
            if found:
                counts: dict[str, int] = {}
                for hit in found:
                    kind = str(getattr(hit, "type", None) or hit["type"])
                    counts[kind] = counts.get(kind, 0) + 1
                for kind, n in sorted(counts.items()):
                    decisions.append(Decision("input", f"pii.{kind}", "redact", f"{n} span(s) redacted before storage"))
                stored = pii.redact(text)
        action = ("block" if self.mode == "block" else "flag") if suspicious else ("flag" if hits else "allow")
        for_model = stored if self.redact_before_model else text
        return InputVerdict(action, decisions, for_model, stored)

    # ---- output ----------------------------------------------------------------------------
    def check_label(self, label: str, allowed: list[str] | tuple[str, ...]) -> OutputVerdict:
        if label in allowed:
            return OutputVerdict(True, [], label)
        return OutputVerdict(False, [Decision("output", "output.label_allowed", "block",
                                              f"label '{label}' is not one of {list(allowed)}")], label)

    def check_text(self, text: str, *, expect_json: bool = False) -> OutputVerdict:
        decisions: list[Decision] = []
        ok = True
        if expect_json:
            try:
                json.loads(text)
            except ValueError as exc:
                ok = False
                decisions.append(Decision("output", "output.json_valid", "flag", f"not valid JSON: {exc}"))
            else:
                decisions.append(Decision("output", "output.json_valid", "allow", "valid JSON"))
        stored = text
        if self.redact_pii:
            pii = _pii()
            if pii.find_pii(text):
                stored = pii.redact(text)
                decisions.append(Decision("output", "pii.output", "redact", "PII in generated text redacted before storage"))
        return OutputVerdict(ok, decisions, stored)
