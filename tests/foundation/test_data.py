import json
from collections import Counter

import pytest

from tunewise.data import Columns, detect_format, load, scan
from tunewise.data.bundled import export, iter_rows
from tunewise.errors import BadInputError, Problem


def write(path, text, mode="w"):
    if mode == "wb":
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_bundled_sets_are_real_and_complete():
    rt = Counter(r["label"] for r in iter_rows("rotten-tomatoes"))
    assert rt["fresh"] > 7000 and rt["rotten"] > 5000 and "plot" not in rt
    bbc = Counter(r["label"] for r in iter_rows("bbc-news"))
    assert sum(bbc.values()) == 2225 and len(bbc) == 5


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_export_roundtrip_every_container(tmp_path, suffix):
    path, n = export("rotten-tomatoes", tmp_path / f"rt{suffix}", limit=60, seed=3)
    ds = load(path)
    assert n == 60 and len(ds.examples) == 60 and not ds.problems
    assert ds.format == "text-label" and set(ds.labels()) == {"fresh", "rotten"}
    again, _ = export("rotten-tomatoes", tmp_path / f"again{suffix}", limit=60, seed=3)
    assert [e.text for e in load(again).examples] == [e.text for e in ds.examples]


def test_export_refuses_to_overwrite(tmp_path):
    target = write(tmp_path / "mine.jsonl", "precious\n")
    with pytest.raises(BadInputError):
        export("bbc-news", target, limit=5)
    assert target.read_text() == "precious\n"


def test_detects_formats(tmp_path):
    chat = write(tmp_path / "c.jsonl", json.dumps({"messages": [{"role": "user", "content": "hi"},
                                                                 {"role": "assistant", "content": "yo"}]}) + "\n")
    comp = write(tmp_path / "p.jsonl", json.dumps({"prompt": "a", "completion": "b"}) + "\n")
    tl = write(tmp_path / "t.jsonl", json.dumps({"text": "a", "label": "x"}) + "\n")
    assert detect_format(chat) == ("chat", "jsonl")
    assert detect_format(comp) == ("completion", "jsonl")
    assert detect_format(tl) == ("text-label", "jsonl")
    ex = load(chat).examples[0]
    assert ex.kind == "chat" and ex.target == "yo" and ex.text == "user: hi"


def test_all_problems_collected_with_lines(tmp_path):
    lines = [
        json.dumps({"text": "ok", "label": "a"}),
        "{not json",
        json.dumps({"text": "", "label": "a"}),
        json.dumps({"text": "no label"}),
        json.dumps(["array"]),
        json.dumps({"text": "ok too", "label": 3}),
    ]
    path = write(tmp_path / "d.jsonl", "\n".join(lines) + "\n")
    before = path.read_bytes()
    items = list(scan(path))
    probs = [i for i in items if isinstance(i, Problem)]
    assert [p.line for p in probs] == [2, 3, 4, 5]
    assert [e.label for e in items if not isinstance(e, Problem)] == ["a", "3"]
    assert path.read_bytes() == before


def test_chat_rules(tmp_path):
    bad = [
        {"messages": [{"role": "user", "content": "hi"}]},
        {"messages": [{"role": "wizard", "content": "x"}, {"role": "assistant", "content": "y"}]},
        {"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "y"}]},
        {"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "y"}]},
        {"messages": "nope"},
        {"messages": [{"role": "user", "content": "x", "colour": 1}, {"role": "assistant", "content": "y"}]},
        {"msgs": []},
        {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y", "weight": 2}]},
    ]
    path = write(tmp_path / "chat.jsonl", "\n".join(json.dumps(b) for b in bad) + "\n")
    items = list(scan(path, "chat"))
    assert all(isinstance(i, Problem) for i in items)
    assert sorted({i.line for i in items}) == list(range(1, 9))
    text = " ".join(i.error for i in items)
    for needle in ("no assistant message", "unknown role", "empty 'content'", "must be a string",
                   "must be a list", "unknown key 'colour'", "unknown key 'msgs'", "'weight' must be 0 or 1"):
        assert needle in text


def test_csv_problems_and_columns(tmp_path):
    path = write(tmp_path / "d.csv", 'text,label\nhello,a\n"multi\nline",b\n,c\nx,\ntoo,many,fields\n')
    ds = load(path)
    assert [e.line for e in ds.examples] == [2, 3]
    assert [(p.line, p.error.split(" ")[0]) for p in ds.errors] == [(5, "'text'"), (6, "missing"), (7, "expected")]
    with pytest.raises(BadInputError) as exc:
        load(path, columns=Columns(text="body"))
    assert "body" in str(exc.value) and ":1" in str(exc.value)


def test_invalid_utf8_and_bom(tmp_path):
    path = write(tmp_path / "d.jsonl", b'\xef\xbb\xbf{"text": "a", "label": "x"}\n{"text": "\xff", "label": "y"}\n', "wb")
    ds = load(path)
    assert len(ds.examples) == 1
    assert [(p.line, p.severity) for p in ds.problems] == [(1, "warning"), (2, "error")]
    assert "UTF-8" in ds.problems[1].error


@pytest.mark.parametrize("content", ["", "\n\n"])
def test_empty_files_are_fatal(tmp_path, content):
    path = write(tmp_path / "e.jsonl", content)
    with pytest.raises(BadInputError):
        load(path)
