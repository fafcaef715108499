"""More JSONL training shapes: preference pairs (DPO), ShareGPT conversations, Alpaca instructions.

- ``preference``: OpenAI/Together DPO records ``{"input": {"messages": [...]}, "preferred_output":
  [{"role": "assistant", ...}], "non_preferred_output": [...]}`` or TRL-style ``{"prompt", "chosen",
  "rejected"}`` with strings or message lists. The preferred answer is the example's target; the
  non-preferred one travels in ``extra["rejected"]`` (tokens and PII are counted for both).
- ``sharegpt``: ``{"conversations": [{"from": "human"|"gpt"|"system", "value": "..."}]}``, turned
  into OpenAI chat messages and validated with the chat rules.
- ``alpaca``: ``{"instruction", "input" (may be empty), "output"}``: a completion whose prompt is the
  instruction followed by the input.
Every problem in a record is reported with file:line, not only the first.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tunewise.data import chat
from tunewise.data.example import Example
from tunewise.errors import Problem

SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "chatgpt": "assistant",
                  "bard": "assistant", "bing": "assistant", "model": "assistant", "system": "system", "tool": "tool",
                  "function_call": "assistant", "observation": "tool"}
_META = {"id", "metadata"}


def _ex_id(obj: dict[str, Any], name: str, lineno: int) -> str:
    from tunewise.data.readers import _basename

    rid = obj.get("id")
    return str(rid) if rid is not None else f"{_basename(name)}:{lineno}"


# -------------------------------------------------------------------------------------- ShareGPT

def sharegpt(obj: dict[str, Any], name: str, lineno: int) -> Iterator[Example | Problem]:
    probs: list[Problem] = []
    for k in obj:
        if k not in {"conversations", "system", "tools"} | _META:
            probs.append(Problem(name, lineno, f"unknown key '{k}'", "ShareGPT records take 'conversations' "
                                                                     "(and optionally 'system', 'tools')"))
    conv = obj.get("conversations")
    if conv is None:
        yield from probs + [Problem(name, lineno, "missing 'conversations'",
                                    'Each line must be {"conversations": [{"from": "human", "value": ...}, ...]}')]
        return
    if not isinstance(conv, list) or not conv:
        yield from probs + [Problem(name, lineno, "'conversations' must be a non-empty list")]
        return
    messages: list[dict[str, Any]] = []
    if isinstance(obj.get("system"), str) and obj["system"].strip():
        messages.append({"role": "system", "content": obj["system"]})
    for i, turn in enumerate(conv):
        where = f"conversations[{i}]"
        if not isinstance(turn, dict):
            probs.append(Problem(name, lineno, f"{where} must be an object with 'from' and 'value'"))
            continue
        extra = [k for k in turn if k not in ("from", "value", "weight")]
        if extra:
            probs.append(Problem(name, lineno, f"{where}: unknown key '{extra[0]}'", "Turns take 'from' and 'value'"))
        src = turn.get("from")
        if src not in SHAREGPT_ROLES:
            probs.append(Problem(name, lineno, f"{where}: unknown 'from' {src!r}",
                                 "Use human, gpt or system (also user, assistant, tool, observation)"))
            continue
        value = turn.get("value")
        if not isinstance(value, str):
            probs.append(Problem(name, lineno, f"{where}: 'value' must be a string, got {type(value).__name__}"))
            continue
        if not value.strip():
            probs.append(Problem(name, lineno, f"{where}: empty 'value'", "Remove the turn or fill it"))
            continue
        messages.append({"role": SHAREGPT_ROLES[src], "content": value})
    if probs:
        yield from probs
        return
    if not any(m["role"] == "assistant" for m in messages):
        yield Problem(name, lineno, "no 'gpt' turn", "Each conversation needs at least one gpt (assistant) turn")
        return
    record = {"messages": messages, **({"tools": obj["tools"]} if obj.get("tools") else {})}
    for item in chat.to_example(record, name, lineno):
        if isinstance(item, Example):
            item.id = _ex_id(obj, name, lineno)
        yield item


# ---------------------------------------------------------------------------------------- Alpaca

def alpaca(obj: dict[str, Any], name: str, lineno: int) -> Iterator[Example | Problem]:
    probs = [Problem(name, lineno, f"unknown key '{k}'", "Alpaca records take 'instruction', 'input' and 'output'")
             for k in obj if k not in {"instruction", "input", "output", "text"} | _META]
    for key, empty_ok in (("instruction", False), ("input", True), ("output", False)):
        v = obj.get(key)
        if v is None:
            if key != "input":
                probs.append(Problem(name, lineno, f"missing '{key}'", f"Add a string '{key}'"))
        elif not isinstance(v, str):
            probs.append(Problem(name, lineno, f"'{key}' must be a string, got {type(v).__name__}"))
        elif not empty_ok and not v.strip():
            probs.append(Problem(name, lineno, f"'{key}' is empty", "Remove the row or fill it"))
    if probs:
        yield from probs
        return
    prompt = obj["instruction"] + (f"\n\n{obj['input']}" if (obj.get("input") or "").strip() else "")
    yield Example(id=_ex_id(obj, name, lineno), kind="completion", text=prompt, target=obj["output"],
                  source=name, line=lineno)


# ------------------------------------------------------------------------------------ preference

def _side(value: Any, key: str, name: str, lineno: int, *, prompt: bool) -> tuple[Any, list[Problem]]:
    """A string, or a list of messages validated with the chat rules (output lists: assistant only)."""
    if isinstance(value, str):
        return value, ([Problem(name, lineno, f"'{key}' is empty")] if not value.strip() else [])
    if isinstance(value, list) and value:
        if not prompt:
            bad = [i for i, m in enumerate(value) if not isinstance(m, dict) or m.get("role") != "assistant"]
            if bad:
                return None, [Problem(name, lineno, f"{key}[{bad[0]}] must be an assistant message",
                                      f"'{key}' holds the answer: [{{\"role\": \"assistant\", \"content\": ...}}]")]
        msgs = value if not prompt else [*value, {"role": "assistant", "content": "x"}]
        probs = [Problem(p.file, p.line, f"{key}: {p.error}", p.hint)
                 for p in chat.validate({"messages": msgs}, name, lineno)]
        return value, probs
    return None, [Problem(name, lineno, f"'{key}' must be a string or a non-empty list of messages",
                          "e.g. \"chosen\": \"the better answer\"")]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "\n".join(str(chat._content_text(m.get("content")) or "") for m in value if isinstance(m, dict))


def preference(obj: dict[str, Any], name: str, lineno: int) -> Iterator[Example | Problem]:
    openai = "preferred_output" in obj or "non_preferred_output" in obj or "input" in obj
    keys = ("input", "preferred_output", "non_preferred_output") if openai else ("prompt", "chosen", "rejected")
    probs = [Problem(name, lineno, f"unknown key '{k}'", f"Preference records take {', '.join(keys)}")
             for k in obj if k not in set(keys) | _META]
    missing = [k for k in keys if k not in obj]
    if missing:
        yield from probs + [Problem(name, lineno, f"missing '{missing[0]}'",
                                    f"Preference records need {', '.join(repr(k) for k in keys)}")]
        return
    tools = None
    if openai:
        inp = obj["input"]
        if not isinstance(inp, dict) or "messages" not in inp:
            yield from probs + [Problem(name, lineno, "'input' must be an object with 'messages'",
                                        '"input": {"messages": [{"role": "user", "content": ...}]}')]
            return
        tools = inp.get("tools")
        prompt_v, p1 = _side(inp["messages"], "input.messages", name, lineno, prompt=True)
    else:
        prompt_v, p1 = _side(obj["prompt"], "prompt", name, lineno, prompt=True)
    chosen, p2 = _side(obj[keys[1]], keys[1], name, lineno, prompt=False)
    rejected, p3 = _side(obj[keys[2]], keys[2], name, lineno, prompt=False)
    probs += p1 + p2 + p3
    if not probs and _text(chosen).strip() == _text(rejected).strip():
        probs.append(Problem(name, lineno, f"'{keys[1]}' and '{keys[2]}' are the same",
                             "A preference pair needs two different answers"))
    if probs:
        yield from probs
        return
    messages = None
    if isinstance(prompt_v, list):
        tail = chosen if isinstance(chosen, list) else [{"role": "assistant", "content": chosen}]
        messages = [dict(m) for m in [*prompt_v, *tail]]
        for m in messages:
            t = chat._content_text(m.get("content"))
            if t is not None:
                m["content"] = t
        text = chat.render_prompt(messages[:len(prompt_v)])
    else:
        text = prompt_v
    extra: dict[str, Any] = {"rejected": _text(rejected)}
    if tools:
        extra["tools"] = tools
    yield Example(id=_ex_id(obj, name, lineno), kind="chat" if messages else "completion", text=text,
                  target=_text(chosen), messages=messages, source=name, line=lineno, extra=extra)
