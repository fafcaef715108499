"""Regenerates the bad-input corpus and its manifest: python tests/data/bad/_make.py

Each file is something a user could plausibly hand to `tunewise audit`. manifest.yaml says, per file,
the line the report must point at, a phrase the message must contain, and extra CLI args (``--strict``
for files whose problems are only warnings). tests/audit/test_bad_corpus.py runs the real CLI on each.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


def j(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


def tl(text: str, label: str = "pos") -> str:
    return j({"text": text, "label": label})


def chat(*msgs: tuple[str, object], **extra: object) -> str:
    return j({"messages": [{"role": r, "content": c} for r, c in msgs], **extra})


DPO = j({"input": {"messages": [{"role": "user", "content": "Hi, how are you?"}]},
         "preferred_output": [{"role": "assistant", "content": "Fine, thanks!"}],
         "non_preferred_output": [{"role": "assistant", "content": "Go away."}]})
SHAREGPT = j({"conversations": [{"from": "human", "value": "Capital of France?"}, {"from": "gpt", "value": "Paris"}]})
ALPACA = j({"instruction": "Translate to English", "input": "chat", "output": "cat"})

NEAR = ("the plot is thin and the pacing uneven, but the cast carries the whole film from the first scene to the "
        "last with charm and wit, and the score by an old hand at the genre keeps every reel moving along nicely")
OK = [tl("a fine film with a warm heart"), tl("dull, long and loud", "neg")]
U, A, S = "user", "assistant", "system"
OKCHAT = chat((S, "Classify."), (U, "Great movie"), (A, "positive"))

# name -> (content as str or bytes, line, phrase, extra args)
CORPUS: dict[str, tuple[str | bytes, int, str, list[str]]] = {
    "invalid_json.jsonl": ("\n".join([OK[0], '{"text": "x", "label": }', OK[1]]) + "\n", 2, "invalid JSON", []),
    "trailing_comma.jsonl": ("\n".join([OK[0], '{"text": "x", "label": "pos",}']) + "\n", 2, "invalid JSON", []),
    "truncated_last_line.jsonl": ("\n".join([*OK, '{"text": "cut off mid']), 3, "invalid JSON", []),
    "invalid_utf8.jsonl": ("\n".join(OK).encode() + b'\n{"text": "caf\xe9", "label": "pos"}\n', 3, "invalid UTF-8", []),
    "not_an_object.jsonl": ("\n".join([OK[0], '["a list", "pos"]', OK[1]]) + "\n", 2, "expected a JSON object", []),
    "missing_label.jsonl": ("\n".join([OK[0], j({"text": "no label here"})]) + "\n", 2, "missing label", []),
    "empty_label.jsonl": ("\n".join([*OK, j({"text": "blank label", "label": "  "})]) + "\n", 3, "missing label", []),
    "label_is_object.jsonl": ("\n".join([OK[0], j({"text": "x", "label": {"a": 1}})]) + "\n", 2, "must be a string or integer", []),
    "missing_text.jsonl": ("\n".join([OK[0], j({"txt": "typo in key", "label": "pos"})]) + "\n", 2, "missing field 'text'", []),
    "empty_text.jsonl": ("\n".join([OK[0], j({"text": "   ", "label": "pos"})]) + "\n", 2, "'text' is empty", []),
    "text_not_string.jsonl": ("\n".join([OK[0], j({"text": 12345, "label": "pos"})]) + "\n", 2, "must be a string", []),
    "mixed_errors.jsonl": ("\n".join([OK[0], "{oops", j({"text": "x"}), j({"text": "", "label": "a"}), OK[1]]) + "\n",
                           3, "missing label", []),
    "chat_no_assistant.jsonl": ("\n".join([OKCHAT, chat((S, "Classify."), (U, "Bad movie"))]) + "\n", 2, "no assistant message", []),
    "chat_unknown_role.jsonl": ("\n".join([OKCHAT, chat((U, "hi"), ("bot", "hello"), (A, "x"))]) + "\n", 2, "unknown role", []),
    "chat_empty_content.jsonl": ("\n".join([OKCHAT, chat((U, ""), (A, "x"))]) + "\n", 2, "empty 'content'", []),
    "chat_content_not_string.jsonl": ("\n".join([OKCHAT, chat((U, 42), (A, "x"))]) + "\n", 2, "must be a string", []),
    "chat_null_user_content.jsonl": ("\n".join([OKCHAT, chat((U, None), (A, "x"))]) + "\n", 2, "'content' is null", []),
    "chat_messages_not_list.jsonl": ("\n".join([OKCHAT, j({"messages": {"role": "user"}})]) + "\n", 2, "must be a list", []),
    "chat_messages_empty.jsonl": ("\n".join([OKCHAT, j({"messages": []})]) + "\n", 2, "'messages' is empty", []),
    "chat_unknown_top_key.jsonl": ("\n".join([OKCHAT, chat((U, "q"), (A, "a"), prompt="leftover")]) + "\n", 2, "unknown key 'prompt'", []),
    "chat_unknown_message_key.jsonl": ("\n".join([OKCHAT, j({"messages": [{"role": "user", "content": "q", "text": "x"},
                                                                         {"role": "assistant", "content": "a"}]})]) + "\n",
                                       2, "unknown key 'text'", []),
    "chat_missing_role.jsonl": ("\n".join([OKCHAT, j({"messages": [{"content": "q"}, {"role": "assistant", "content": "a"}]})]) + "\n",
                                2, "missing 'role'", []),
    "chat_bad_weight.jsonl": ("\n".join([OKCHAT, j({"messages": [{"role": "user", "content": "q"},
                                                                {"role": "assistant", "content": "a", "weight": 2}]})]) + "\n",
                              2, "'weight' must be 0 or 1", []),
    "chat_missing_messages.jsonl": ("\n".join([OKCHAT, j({"msgs": [{"role": "user", "content": "q"}]})]) + "\n", 2, "missing 'messages'", []),
    "completion_missing_completion.jsonl": ("\n".join([j({"prompt": "2+2=", "completion": " 4"}), j({"prompt": "3+3="})]) + "\n",
                                            2, "missing field 'completion'", []),
    "completion_unknown_key.jsonl": ("\n".join([j({"prompt": "2+2=", "completion": " 4"}),
                                                j({"prompt": "3+3=", "completion": " 6", "answer": "6"})]) + "\n",
                                     2, "unknown key 'answer'", []),
    "completion_not_string.jsonl": ("\n".join([j({"prompt": "2+2=", "completion": " 4"}), j({"prompt": "3+3=", "completion": 6})]) + "\n",
                                    2, "must be a string", []),
    "empty.jsonl": ("", 1, "file is empty", []),
    "blank_lines_only.jsonl": ("\n\n  \n", 1, "only blank lines", []),
    "csv_wrong_columns.csv": ("review,sentiment\ngreat film,pos\n", 1, "missing columns", []),
    "csv_header_only.csv": ("text,label\n", 2, "no rows", []),
    "csv_missing_label.csv": ("text,label\ngreat film,pos\nawful film,\n", 3, "missing label", []),
    "csv_wrong_field_count.csv": ("text,label\ngreat film,pos\nawful, really awful film,neg\n", 3, "expected 2 fields", []),
    "csv_invalid_utf8.csv": (b"text,label\ngreat film,pos\ncaf\xe9 film,neg\n", 3, "invalid UTF-8", []),
    "tsv_missing_column.tsv": ("text\tcategory\ngreat film\tpos\n", 1, "missing column", []),
    # Warnings only: usable as is, fatal with --strict.
    "bom.jsonl": ("\ufeff" + "\n".join(OK) + "\n", 1, "byte-order mark", ["--strict"]),
    "blank_line_inside.jsonl": (OK[0] + "\n\n" + OK[1] + "\n", 2, "blank line", ["--strict"]),
    "exact_duplicates.jsonl": ("\n".join([OK[0], OK[1], tl("a  fine film with a warm   heart")]) + "\n", 3, "exact duplicate of line 1", ["--strict"]),
    "near_duplicates.jsonl": ("\n".join([tl(NEAR), OK[1], tl(NEAR.replace("charm and wit", "charm and real wit"))]) + "\n",
                              3, "near duplicate of line 1", ["--strict"]),
    "conflicting_labels.jsonl": ("\n".join([OK[0], tl("a fine film with a warm heart", "neg")]) + "\n", 1,
                                 "different outputs on lines 1, 2", ["--strict"]),
    "pii_email.jsonl": ("\n".join([OK[0], tl("write to jane.doe@example.com for tickets")]) + "\n", 2, "personal data: email", ["--strict"]),
    "pii_card.jsonl": ("\n".join([OK[0], tl("my card 4111 1111 1111 1111 was charged twice", "neg")]) + "\n", 2,
                       "credit_card", ["--strict"]),
    "over_context_limit.jsonl": ("\n".join([OK[0], tl("word " * 60)]) + "\n", 2, "over the context limit of 20",
                                 ["--strict", "--max-tokens", "20"]),
    "csv_bom.csv": ("\ufefftext,label\ngreat film,pos\n", 1, "byte-order mark", ["--strict"]),
    # preference pairs (OpenAI DPO shape and chosen/rejected), ShareGPT, Alpaca
    "dpo_missing_non_preferred.jsonl": ("\n".join([DPO, j({"input": {"messages": [{"role": "user", "content": "2+2?"}]},
                                                            "preferred_output": [{"role": "assistant", "content": "4"}]})]) + "\n",
                                        2, "missing 'non_preferred_output'", []),
    "dpo_output_not_assistant.jsonl": ("\n".join([DPO, j({"input": {"messages": [{"role": "user", "content": "2+2?"}]},
                                                           "preferred_output": [{"role": "user", "content": "4"}],
                                                           "non_preferred_output": [{"role": "assistant", "content": "5"}]})]) + "\n",
                                       2, "preferred_output[0] must be an assistant message", []),
    "dpo_chosen_equals_rejected.jsonl": ("\n".join([j({"prompt": "Capital of France?", "chosen": "Paris", "rejected": "Lyon"}),
                                                     j({"prompt": "2+2", "chosen": "4", "rejected": " 4 "})]) + "\n",
                                         2, "'chosen' and 'rejected' are the same", []),
    "sharegpt_unknown_from.jsonl": ("\n".join([SHAREGPT, j({"conversations": [{"from": "hooman", "value": "hi"},
                                                                              {"from": "gpt", "value": "hello"}]})]) + "\n",
                                    2, "unknown 'from' 'hooman'", []),
    "sharegpt_no_gpt_turn.jsonl": ("\n".join([SHAREGPT, j({"conversations": [{"from": "human", "value": "hi"}]})]) + "\n",
                                   2, "no 'gpt' turn", []),
    "alpaca_missing_output.jsonl": ("\n".join([ALPACA, j({"instruction": "Say hi", "input": ""})]) + "\n",
                                    2, "missing 'output'", []),
    "alpaca_output_not_string.jsonl": ("\n".join([ALPACA, j({"instruction": "Add", "input": "2+2", "output": 4})]) + "\n",
                                       2, "'output' must be a string", []),
}


def main() -> None:
    manifest = {}
    for name, (content, line, phrase, args) in sorted(CORPUS.items()):
        data = content.encode("utf-8") if isinstance(content, str) else content
        (HERE / name).write_bytes(data)
        manifest[name] = {"line": line, "phrase": phrase, "args": args}
    (HERE / "manifest.yaml").write_text(
        "# Generated by _make.py: per file, the line the report must name, a phrase of the message, extra args.\n"
        + yaml.safe_dump(manifest, sort_keys=True), encoding="utf-8")
    print(f"{len(manifest)} files")


if __name__ == "__main__":
    main()
