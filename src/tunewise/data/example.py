"""The one record type every tunewise stage uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

TaskKind = Literal["classification", "completion", "chat"]


@dataclass(slots=True)
class Example:
    """One training example.

    - classification: ``text`` + ``label``
    - completion: ``text`` is the prompt, ``target`` the completion
    - chat: ``messages`` (OpenAI format); ``text`` is the conversation before the last assistant
      message, ``target`` that assistant message's content
    ``line`` is the 1-based line (JSONL/CSV) or row (Parquet) where the example starts.
    """

    id: str
    kind: TaskKind
    text: str
    label: str | None = None
    target: str | None = None
    messages: list[dict[str, Any]] | None = None
    source: str = ""
    line: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def output(self) -> str:
        """What the model must produce: the label or the target."""
        return self.label if self.kind == "classification" else (self.target or "")

    def texts(self) -> list[str]:
        """Every piece of user-visible text (for duplicates, PII, drift)."""
        if self.messages is not None:
            return [m["content"] for m in self.messages if isinstance(m.get("content"), str)]
        out = [self.text]
        if self.target:
            out.append(self.target)
        return out
