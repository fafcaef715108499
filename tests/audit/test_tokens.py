"""Token totals equal tiktoken's own (and the HF tokenizer's own) on the same texts."""

from __future__ import annotations

import json
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tunewise.audit import audit_file
from tunewise.data import load

from audit_helpers import cookbook_tokens, write_jsonl


def test_text_label_totals_match_tiktoken(rt_small, o200k, cl100k):
    d = audit_file(rt_small, tokenizers=("o200k_base", "cl100k_base"), near_dups=False, pii=False).to_dict()
    exs = load(rt_small).examples
    for name, enc in (("o200k_base", o200k), ("cl100k_base", cl100k)):
        t = d["tokens"][name]
        text_tokens = [len(enc.encode(e.text)) for e in exs]
        label_tokens = [len(enc.encode(e.label)) for e in exs]
        per_example = sorted(a + b for a, b in zip(text_tokens, label_tokens))
        assert t["input"]["total"] == sum(text_tokens)
        assert t["output"]["total"] == sum(label_tokens)
        assert t["total"] == sum(per_example)
        assert t["max"] == per_example[-1] and t["min"] == per_example[0]
        h = t["histogram"]
        assert sum(h["counts"]) == len(exs) and sum(h["sums"]) == t["total"]
        assert h["edges"][0] == 0 and h["edges"][-1] > t["max"]


def _chat_rows(rng: random.Random, texts: list[str], n: int) -> list[dict]:
    rows = []
    for i in range(n):
        msgs = [{"role": "system", "content": "You label movie reviews as fresh or rotten."}]
        for _ in range(rng.randint(1, 3)):
            user = {"role": "user", "content": rng.choice(texts)}
            if rng.random() < 0.3:
                user["name"] = rng.choice(["alice", "Bob_2", "carol-the-critic"])
            msgs += [user, {"role": "assistant", "content": rng.choice(["fresh", "rotten"]) + ". " + rng.choice(texts)}]
        rows.append({"messages": msgs})
    return rows


def test_chat_totals_match_openai_cookbook(tmp_path, rt_small, o200k):
    texts = [e.text for e in load(rt_small).examples]
    rows = _chat_rows(random.Random(1), texts, 300)
    path = write_jsonl(tmp_path / "chat.jsonl", rows)
    d = audit_file(path, near_dups=False, pii=False).to_dict()
    t = d["tokens"]["o200k_base"]
    assert d["format"] == "chat" and d["examples"] == 300
    assert t["total"] == sum(cookbook_tokens(r["messages"], o200k) for r in rows)
    # output = the last assistant message's content (what a deployed model generates per request)
    assert t["output"]["total"] == sum(len(o200k.encode(r["messages"][-1]["content"])) for r in rows)
    assert t["input"]["total"] + t["output"]["total"] == t["total"]


def test_hf_tokenizer_counts_match_its_own(rt_small):
    from tokenizers import Tokenizer

    from tunewise.assets import minilm_dir

    tok = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()  # the shipped tokenizer.json pads to 256; a count must not
    d = audit_file(rt_small, tokenizers=("minilm",), near_dups=False, pii=False).to_dict()
    exs = load(rt_small).examples
    expected = sum(len(tok.encode(e.text).ids) + len(tok.encode(e.label, add_special_tokens=False).ids) for e in exs)
    t = d["tokens"]["minilm"]
    assert t["total"] == expected
    assert t["over_limit"]["limit"] == 512 and "max_position_embeddings" in t["over_limit"]["limit_source"]


def test_over_limit_counts_and_lines(tmp_path, o200k):
    rows = [{"text": "short one", "label": "a"}, {"text": "word " * 50, "label": "b"}, {"text": "ok", "label": "a"}]
    path = write_jsonl(tmp_path / "long.jsonl", rows)
    d = audit_file(path, max_tokens=20, near_dups=False, pii=False).to_dict()
    ol = d["tokens"]["o200k_base"]["over_limit"]
    assert ol == {"limit": 20, "limit_source": "--max-tokens", "count": 1, "lines": [2]}
    assert any(w["line"] == 2 and "over the context limit" in w["warning"] for w in d["warnings"])


def test_catalog_model_sets_limit(rt_small):
    d = audit_file(rt_small, tokenizers=("cl100k_base",), model="openai/gpt-3.5-turbo-0125",
                   near_dups=False, pii=False).to_dict()
    ol = d["tokens"]["cl100k_base"]["over_limit"]
    assert ol["limit"] == 16385 and "openai/gpt-3.5-turbo-0125" in ol["limit_source"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.text(min_size=1, max_size=80).filter(lambda s: s.strip()), min_size=1, max_size=12))
def test_any_text_counts_like_tiktoken(tmp_path_factory, o200k, texts):
    path = tmp_path_factory.mktemp("h") / "h.jsonl"
    path.write_text("".join(json.dumps({"text": t, "label": "x"}) + "\n" for t in texts), encoding="utf-8")
    d = audit_file(path, near_dups=False, pii=False).to_dict()
    valid = [t for t in texts]
    assert d["examples"] == len(valid)
    assert d["tokens"]["o200k_base"]["input"]["total"] == sum(len(o200k.encode_ordinary(t)) for t in valid)
    assert d["tokens"]["o200k_base"]["output"]["total"] == len(o200k.encode("x")) * len(valid)


def test_repeated_texts_are_counted_once_and_the_cache_stays_bounded(o200k, monkeypatch):
    from tunewise.audit import tokenizers

    c = tokenizers.resolve("o200k_base")
    system = "You are a careful film critic. Answer fresh or rotten."
    texts = [system, "a warm, funny film", system, "dull", system, "x" * 5000]
    encoded: list[str] = []
    real = c._encode_counts
    monkeypatch.setattr(c, "_encode_counts", lambda ts: (encoded.extend(ts), real(ts))[1])
    assert c.count(texts) == [len(o200k.encode_ordinary(t)) for t in texts]
    assert encoded.count(system) == 1
    assert c.count([system, "dull"]) == [len(o200k.encode_ordinary(system)), len(o200k.encode_ordinary("dull"))]
    assert encoded.count(system) == 1                     # the second call used the cache
    assert "x" * 5000 not in c._cache                      # long texts are not kept
    monkeypatch.setattr(tokenizers, "CACHE_TOTAL_CHARS", 100)
    c.count([f"text number {i}" for i in range(50)])
    assert c._cached_chars <= 100 and sum(map(len, c._cache)) == c._cached_chars
