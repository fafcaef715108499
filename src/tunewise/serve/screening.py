"""Input screening for the routes: each text gets its own guardrail verdict, so one blocked text in a
batch is refused alone, and every chat message is screened whatever its role (system and assistant
turns are client-controlled too). The stored chat input is the whole conversation, one
``role: text`` line per message, redacted (and redacted again by the store's boundary)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tunewise.guardrails.engine import Decision, InputVerdict

_RANK = {"allow": 0, "flag": 1, "block": 2}


def guard_inputs(guard: Any, texts: list[str]) -> list[InputVerdict]:
    if guard is None:
        return [InputVerdict("allow", [], t, t) for t in texts]
    return guard.check_inputs(texts)


def strongest(actions: list[str]) -> str:
    return max(actions, key=lambda a: _RANK.get(a, 0), default="allow")


def screen_chat(guard: Any, messages: list[Any]) -> tuple[InputVerdict, list[dict[str, str]]]:
    """(merged verdict for the whole conversation, the messages as the model should see them)."""
    verdicts = guard_inputs(guard, [m.content for m in messages])
    decisions: list[Decision] = []
    for i, (m, v) in enumerate(zip(messages, verdicts, strict=True)):
        decisions.extend(replace(d, detail=f"messages[{i}] ({m.role}): {d.detail}") for d in v.decisions)
    stored = "\n".join(f"{m.role}: {v.text_for_store}" for m, v in zip(messages, verdicts, strict=True))
    merged = InputVerdict(strongest([v.action for v in verdicts]), decisions, "", stored)
    for_model = [{"role": m.role, "content": v.text_for_model} for m, v in zip(messages, verdicts, strict=True)]
    return merged, for_model


def refusal(rid: str, verdict: InputVerdict) -> dict[str, Any]:
    """The per-item answer for a blocked text inside a served batch."""
    rules = sorted({d.rule for d in verdict.decisions if d.action == "block"})
    return {"id": rid, "error": {"type": "blocked_by_guardrail",
                                 "message": "the input was refused by a guardrail: " + ", ".join(rules),
                                 "rules": rules}}
