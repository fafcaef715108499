"""Chat messages for an endpoint evaluation, and strict label parsing of what comes back.

The messages are the local causal-LM pilot's own (``tunewise.pilot.train_causal``): the same system
instruction, the same seeded, stratified k shots from the training split, the same user turns, so an
endpoint and a local zero-/few-shot pilot see identical prompts.

Parsing is strict (rule ``exact-label-v1``): the whole answer, after trimming whitespace, one pair of
matching quotes/backticks/asterisks, a trailing ``.``/``!`` and an optional ``label:``/``answer:``
prefix, must equal one label (ignoring case when no two labels differ only by case). Anything else is
*unparseable*: counted and reported, never mapped to the nearest label.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from typing import Any

from tunewise.errors import BadInputError

PARSE_RULE = "exact-label-v1"
_PREFIX = re.compile(r"^(?:label|answer|category|class)\s*[:=-]\s*", re.I)
_WRAPPERS = ('"', "'", "`", "**", "*", "“", "‘")
_CLOSING = {"“": "”", "‘": "’"}


def check_template(prompt: str | None, task: str) -> None:
    """Refuse a --prompt with placeholders other than {labels} (classification)."""
    if prompt is None:
        return
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(prompt) if f is not None}
    except ValueError as exc:
        raise BadInputError("--prompt is not a valid template", why=str(exc),
                            fix="Write literal braces as {{ and }}; the only placeholder is {labels}") from None
    allowed = {"labels"} if task == "classification" else set()
    bad = sorted(names - allowed)
    if bad:
        raise BadInputError(f"--prompt uses unknown placeholder(s): {', '.join('{' + b + '}' for b in bad)}",
                            why=f"for {task} data the template may use "
                                + ("{labels} (the label list)" if allowed else "no placeholders"),
                            fix="The example text is sent as the user message; the prompt is the system "
                                "instruction. Write literal braces as {{ and }}")


def messages_for(example: Any, *, task: str, labels: list[str], prompt: str | None,
                 shots: Sequence[Any]) -> list[dict[str, str]]:
    """The chat messages for one test example (the pilot's prompts)."""
    from tunewise.pilot import train_causal as TCa

    if task == "classification":
        return TCa.classification_messages(example.text, labels, prompt, [(s.text, s.label) for s in shots])
    msgs = TCa.generation_messages(example, list(shots))
    if prompt:
        msgs = [{"role": "system", "content": prompt.replace("{{", "{").replace("}}", "}")}] + msgs
    return msgs


def pick_shots(train: list[Any], k: int, seed: int, task: str) -> list[Any]:
    """The local few-shot pilot's shots: seeded, at least one per label when k allows."""
    if k <= 0:
        return []
    from tunewise.pilot.train_causal import pick_shots as _pick

    return _pick(train, k, seed, task)


class LabelParser:
    """Maps an answer to a label, or to None when it is not exactly one label."""

    def __init__(self, labels: list[str]) -> None:
        self.labels = list(labels)
        folded = [lab.casefold() for lab in labels]
        self.case_sensitive = len(set(folded)) != len(folded)
        self._map = {(lab if self.case_sensitive else lab.casefold()): lab for lab in labels}

    def _clean(self, text: str) -> str:
        s = text.strip()
        for _ in range(2):
            s = _PREFIX.sub("", s).strip()
            for w in _WRAPPERS:
                close = _CLOSING.get(w, w)
                if len(s) > 2 * len(w) and s.startswith(w) and s.endswith(close):
                    s = s[len(w):-len(close)].strip()
            s = s.rstrip(".!").strip()
        return s

    def parse(self, text: str | None) -> str | None:
        if not text:
            return None
        s = self._clean(text)
        if not self.case_sensitive:
            s = s.casefold()
        return self._map.get(s)
