"""Token counts for an open model apply the model's own chat template (tokenizer.apply_chat_template),
tools included: the bundled SmolLM2-135M-Instruct's template, checked against transformers itself."""

from __future__ import annotations

import json

import pytest

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                           "parameters": {"type": "object", "properties": {
                                               "city": {"type": "string", "description": "city name"}}}}}]
CHATS = [
    {"messages": [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Capital of France?"},
                  {"role": "assistant", "content": "Paris."}]},
    {"messages": [{"role": "user", "content": "Weather in Oslo?"}, {"role": "assistant", "content": "Cold and clear."}],
     "tools": TOOLS},
]


@pytest.fixture(scope="module")
def smollm2_dir():
    from tunewise.pilot.models import materialise_smollm2

    return materialise_smollm2()


def test_chat_counts_follow_the_models_template(tmp_path, smollm2_dir) -> None:
    from transformers import AutoTokenizer

    from tunewise.audit import audit_file

    data = tmp_path / "chat.jsonl"
    data.write_text("".join(json.dumps(c) + "\n" for c in CHATS), encoding="utf-8")
    rep = audit_file(data, tokenizers=[str(smollm2_dir)], near_dups=False, pii=False)
    t = rep.tokens[smollm2_dir.name]
    assert "chat template" in t.counting and "fallback" not in t.counting
    tok = AutoTokenizer.from_pretrained(str(smollm2_dir), local_files_only=True)
    want_total, want_in = [], 0
    for c in CHATS:
        tools = c.get("tools")
        full = tok.apply_chat_template(c["messages"], tools=tools, tokenize=False)
        prompt = tok.apply_chat_template(c["messages"][:-1], tools=tools, tokenize=False, add_generation_prompt=True)
        want_total.append(len(tok(full, add_special_tokens=False)["input_ids"]))
        want_in += len(tok(prompt, add_special_tokens=False)["input_ids"])
    assert list(t.totals) == want_total
    assert t.input_total == want_in
    # SmolLM2's template does not render tools, so the tool definitions add nothing for it
    assert t.totals[1] == want_total[1]


def test_a_template_that_renders_tools_counts_them(tmp_path, smollm2_dir) -> None:
    import shutil

    from tunewise.audit import audit_file

    model = tmp_path / "tooly"
    model.mkdir()
    for f in ("tokenizer.json", "tokenizer_config.json", "config.json"):
        shutil.copy(smollm2_dir / f, model / f)
    (model / "chat_template.jinja").write_text(
        "{% if tools %}<|im_start|>system\nTools: {{ tools | tojson }}<|im_end|>\n{% endif %}"
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}", encoding="utf-8")
    with_tools = tmp_path / "with.jsonl"
    with_tools.write_text(json.dumps(CHATS[1]) + "\n", encoding="utf-8")
    without = tmp_path / "without.jsonl"
    without.write_text(json.dumps({"messages": CHATS[1]["messages"]}) + "\n", encoding="utf-8")
    a = audit_file(with_tools, tokenizers=[str(model)], near_dups=False, pii=False).tokens["tooly"]
    b = audit_file(without, tokenizers=[str(model)], near_dups=False, pii=False).tokens["tooly"]
    assert a.output_total == b.output_total  # the answer is the same
    assert a.input_total > b.input_total + 10  # the definitions are prompt tokens
