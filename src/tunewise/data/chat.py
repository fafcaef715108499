"""OpenAI chat fine-tuning records: validation with the rules OpenAI's uploader applies.

Rules (OpenAI fine-tuning data format and its cookbook validator): a ``messages`` list of objects,
each with a known ``role`` and string ``content`` (assistant content may be null when it carries
``tool_calls``/``function_call``), only known keys, ``weight`` 0 or 1, and at least one assistant
message. Every violation in a record is reported, not only the first.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tunewise.data.example import Example
from tunewise.errors import Problem


def _basename(name: str) -> str:
    from tunewise.data.readers import _basename as cached

    return cached(name)

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
TOP_KEYS = {"messages", "tools", "functions", "parallel_tool_calls", "id", "metadata"}
MESSAGE_KEYS = {"role", "content", "name", "weight", "function_call", "tool_calls", "tool_call_id", "refusal"}


def _content_text(content: Any) -> str | None:
    """String content, or the text parts of a content-parts list joined; None if not text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text"
                                         and isinstance(p.get("text"), str) for p in content):
        return "".join(p["text"] for p in content)
    return None


def validate(obj: dict[str, Any], name: str, lineno: int) -> list[Problem]:
    probs: list[Problem] = []

    def add(msg: str, hint: str = "") -> None:
        probs.append(Problem(name, lineno, msg, hint))

    for key in obj:
        if key not in TOP_KEYS:
            add(f"unknown key '{key}'", f"Chat records take {sorted(TOP_KEYS - {'id', 'metadata'})}")
    if "messages" not in obj:
        add("missing 'messages'", 'Each line must be {"messages": [{"role": ..., "content": ...}, ...]}')
        return probs
    msgs = obj["messages"]
    if not isinstance(msgs, list):
        add("'messages' must be a list")
        return probs
    if not msgs:
        add("'messages' is empty", "Give at least a user and an assistant message")
        return probs
    has_assistant = False
    for i, m in enumerate(msgs):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            add(f"{where} must be an object")
            continue
        for key in m:
            if key not in MESSAGE_KEYS:
                add(f"{where}: unknown key '{key}'", f"Messages take {sorted(MESSAGE_KEYS)}")
        role = m.get("role")
        if role is None:
            add(f"{where}: missing 'role'")
        elif not isinstance(role, str) or role not in ROLES:
            add(f"{where}: unknown role {role!r}", f"Use one of {', '.join(ROLES)}")
        if role == "assistant":
            has_assistant = True
        if "weight" in m and m["weight"] not in (0, 1):
            add(f"{where}: 'weight' must be 0 or 1, got {m['weight']!r}")
        calls = m.get("tool_calls") or m.get("function_call")
        if "content" not in m:
            if not (role == "assistant" and calls):
                add(f"{where}: missing 'content'")
            continue
        content = m["content"]
        if content is None:
            if not (role == "assistant" and calls):
                add(f"{where}: 'content' is null", "Only an assistant message with tool_calls may omit content")
            continue
        text = _content_text(content)
        if text is None:
            add(f"{where}: 'content' must be a string, got {type(content).__name__}")
        elif not text.strip() and not calls:
            add(f"{where}: empty 'content'", "Remove the message or fill it")
    if not has_assistant:
        add("no assistant message", "Each example needs at least one assistant message to learn from")
    return probs


def to_example(obj: dict[str, Any], name: str, lineno: int) -> Iterator[Example | Problem]:
    probs = validate(obj, name, lineno)
    if probs:
        yield from probs
        return
    msgs = [dict(m) for m in obj["messages"]]
    for m in msgs:
        text = _content_text(m.get("content"))
        if text is not None:
            m["content"] = text
    last = max(i for i, m in enumerate(msgs) if m.get("role") == "assistant")
    prompt = render_prompt(msgs[:last])
    rid = obj.get("id")
    yield Example(id=str(rid) if rid is not None else f"{_basename(name)}:{lineno}", kind="chat",
                  text=prompt, target=msgs[last].get("content") or "", messages=msgs,
                  source=name, line=lineno, extra={k: obj[k] for k in ("tools", "functions") if obj.get(k)})


def render_prompt(messages: list[dict[str, Any]]) -> str:
    """A plain-text rendering of the conversation before the target (for duplicates, PII, drift)."""
    return "\n".join(f"{m.get('role')}: {m.get('content') or ''}" for m in messages)
