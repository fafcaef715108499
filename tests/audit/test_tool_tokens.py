"""Tool / function definitions in chat training examples are billed prompt tokens: counted the way
OpenAI's cookbook counts them (num_tokens_for_tools, checked there against the API's prompt_tokens)."""

from __future__ import annotations

import random

from tunewise.audit import audit_file

from audit_helpers import cookbook_tokens, cookbook_tool_tokens, write_jsonl

# The cookbook's own example ("How to count tokens with tiktoken", section 7) and its published
# totals for tools + these two messages: 101 prompt tokens (gpt-4o, gpt-4o-mini), 105 (gpt-3.5-turbo, gpt-4).
WEATHER = [{"type": "function", "function": {
    "name": "get_current_weather", "description": "Get the current weather in a given location",
    "parameters": {"type": "object", "properties": {
        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
        "unit": {"type": "string", "description": "The unit of temperature to return",
                 "enum": ["celsius", "fahrenheit"]}},
        "required": ["location"]}}}]
PROMPT = [{"role": "system", "content": "You are a helpful assistant that can answer to questions about the weather."},
          {"role": "user", "content": "What's the weather like in San Francisco?"}]
REPLY = {"role": "assistant", "content": "It is 18 degrees and sunny in San Francisco."}


def test_cookbook_weather_example_gives_the_published_counts(tmp_path, o200k, cl100k):
    path = write_jsonl(tmp_path / "tools.jsonl", [{"messages": PROMPT + [REPLY], "tools": WEATHER}])
    d = audit_file(path, tokenizers=("o200k_base", "cl100k_base"), near_dups=False, pii=False).to_dict()
    for name, enc, published in (("o200k_base", o200k, 101), ("cl100k_base", cl100k, 105)):
        reply = 3 + len(enc.encode("assistant")) + len(enc.encode(REPLY["content"]))
        t = d["tokens"][name]
        assert t["total"] == published + reply, name
        assert t["output"]["total"] == len(enc.encode(REPLY["content"]))   # the definitions are input
        assert "num_tokens_for_tools" in t["counting"]


def _random_tools(rng: random.Random, words: list[str]) -> list[dict]:
    tools = []
    for i in range(rng.randint(1, 3)):
        props = {}
        for j in range(rng.randint(0, 4)):
            p = {"type": rng.choice(["string", "integer", "boolean"]),
                 "description": " ".join(rng.sample(words, 4)) + rng.choice(["", "."])}
            if rng.random() < 0.4:
                p["enum"] = rng.sample(words, rng.randint(1, 4))
            props[f"arg_{j}"] = p
        tools.append({"type": "function", "function": {
            "name": f"tool_{i}_{rng.choice(words)}", "description": " ".join(rng.sample(words, 6)) + ".",
            "parameters": {"type": "object", "properties": props}}})
    return tools


def test_random_definitions_match_the_cookbook_and_reach_the_totals(tmp_path, o200k):
    rng = random.Random(7)
    words = "refund order status shipping account city date amount currency priority ticket".split()
    rows, want = [], 0
    for i in range(60):
        tools = _random_tools(rng, words)
        msgs = [{"role": "user", "content": f"question {i} " + " ".join(rng.sample(words, 5))},
                {"role": "assistant", "content": "answer " + rng.choice(words)}]
        rows.append({"messages": msgs, "tools": tools} if i % 3 else {"messages": msgs})
        want += cookbook_tokens(msgs, o200k) + (cookbook_tool_tokens(tools, o200k, "gpt-4o") if i % 3 else 0)
    path = write_jsonl(tmp_path / "many.jsonl", rows)
    got = audit_file(path, near_dups=False, pii=False).to_dict()["tokens"]["o200k_base"]
    assert got["total"] == want
    plain = audit_file(write_jsonl(tmp_path / "plain.jsonl", [{"messages": r["messages"]} for r in rows]),
                       near_dups=False, pii=False).to_dict()["tokens"]["o200k_base"]
    assert got["input"]["total"] > plain["input"]["total"] and got["output"]["total"] == plain["output"]["total"]


def test_legacy_functions_and_hf_tokenizers_count_the_definitions(tmp_path, o200k):
    fn = WEATHER[0]["function"]
    legacy = write_jsonl(tmp_path / "legacy.jsonl", [{"messages": PROMPT + [REPLY], "functions": [fn]}])
    modern = write_jsonl(tmp_path / "modern.jsonl", [{"messages": PROMPT + [REPLY], "tools": WEATHER}])
    bare = write_jsonl(tmp_path / "bare.jsonl", [{"messages": PROMPT + [REPLY]}])
    spec = ("o200k_base", "minilm")
    a, b, c = (audit_file(p, tokenizers=spec, near_dups=False, pii=False).to_dict()["tokens"] for p in (legacy, modern, bare))
    assert a["o200k_base"]["total"] == b["o200k_base"]["total"]
    assert a["o200k_base"]["total"] - c["o200k_base"]["total"] == cookbook_tool_tokens(WEATHER, o200k, "gpt-4o")
    assert b["minilm"]["total"] > c["minilm"]["total"] + 20     # the definitions' JSON
