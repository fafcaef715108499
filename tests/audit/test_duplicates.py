"""Exact duplicates (whitespace-normalised), near duplicates (MinHash LSH), conflicting labels, and
train/validation overlap."""

from __future__ import annotations

import pytest
from datasketch import MinHash

from audit_helpers import write_jsonl
from tunewise.audit import audit_file
from tunewise.audit.neardup import NearDupIndex, shingle_hashes
from tunewise.errors import BadInputError

LONG = ("the plot is thin and the pacing uneven but the cast carries the whole film from the first scene to the "
        "last with charm and wit and the score keeps every reel moving")


def test_exact_near_and_conflicting(tmp_path):
    rows = [
        {"text": LONG, "label": "fresh"},                                   # 1
        {"text": "a completely different review of a bad film", "label": "rotten"},  # 2
        {"text": "  " + LONG.replace(" ", "   ") + " ", "label": "fresh"},  # 3 exact dup of 1 (whitespace)
        {"text": "this" + LONG[3:], "label": "fresh"},  # 4 near dup of 1
        {"text": "a completely different review of a bad film", "label": "fresh"},  # 5 same input as 2, other label
    ]
    d = audit_file(write_jsonl(tmp_path / "d.jsonl", rows), pii=False).to_dict()
    dup = d["duplicates"]
    assert dup["exact"] == 1 and dup["exact_pairs"] == [{"line": 3, "duplicate_of": 1}]
    assert dup["near"] == 1 and dup["near_pairs"][0]["line"] == 4 and dup["near_pairs"][0]["similar_to"] == 1
    assert dup["near_pairs"][0]["jaccard"] >= 0.8
    assert dup["conflicting"] == 1 and dup["conflicting_lines"] == [[2, 5]]
    nm = dup["near_method"]
    assert nm["threshold"] == 0.8 and nm["num_perm"] == 128 and nm["library"] == "datasketch MinHashLSH"


def test_threshold_too_high_for_num_perm_is_bad_input(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"text": LONG, "label": "a"}])
    with pytest.raises(BadInputError) as exc:
        audit_file(path, near_threshold=0.999, num_perm=32)
    assert "--num-perm" in exc.value.render()


def test_threshold_is_respected(tmp_path):
    rows = [{"text": LONG, "label": "a"}, {"text": "this" + LONG[3:], "label": "a"}]
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    assert audit_file(path, near_threshold=0.97, pii=False).to_dict()["duplicates"]["near"] == 0


def test_signature_equals_datasketch_update_batch():
    idx = NearDupIndex()
    sig = idx.signature(LONG)
    ref = MinHash(num_perm=128, seed=1, hashfunc=int)
    ref.update_batch(shingle_hashes(LONG).tolist())
    assert (sig.hashvalues == ref.hashvalues).all()
    assert sig.jaccard(ref) == 1.0


def test_bounded_mode_reports_what_was_checked(tmp_path):
    rows = [{"text": f"review number {i} says the film is {'good' if i % 2 else 'bad'} indeed", "label": "a"}
            for i in range(30)]
    d = audit_file(write_jsonl(tmp_path / "d.jsonl", rows), near_dup_limit=10, pii=False).to_dict()
    nm = d["duplicates"]["near_method"]
    assert nm["bounded"] and nm["checked"] == 10 and nm["not_checked"] == 20


def test_validation_overlap(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", [
        {"text": LONG, "label": "fresh"}, {"text": "dull and loud", "label": "rotten"},
        {"text": "a gentle comedy", "label": "fresh"}])
    val = write_jsonl(tmp_path / "val.jsonl", [
        {"text": "dull  and loud", "label": "rotten"},     # exact overlap with train line 2
        {"text": "a gentle comedy", "label": "rotten"},    # same input as train line 3
        {"text": LONG + " indeed", "label": "fresh"},       # near overlap with train line 1
        {"text": "something new", "label": "meh"},         # label unseen in training
    ])
    d = audit_file(train, validation=val, pii=False).to_dict()
    v = d["validation"]
    assert (v["examples"], v["exact"], v["same_input"], v["near"]) == (4, 1, 1, 1)
    assert [(p["line"], p["train_line"]) for p in v["pairs"]] == [(1, 2), (2, 3), (3, 1)]
    assert v["labels_not_in_train"] == ["meh"]
    assert any(w["file"] == str(val) and w["line"] == 1 and "overlaps training line 2" in w["warning"]
               for w in d["warnings"])


def test_validation_errors_count_as_errors(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", [{"text": "a", "label": "x"}])
    val = tmp_path / "val.jsonl"
    val.write_text('{"text": "b", "label": "x"}\n{broken\n')
    d = audit_file(train, validation=val, pii=False).to_dict()
    assert d["invalid_total"] == 1 and d["invalid"][0]["file"] == str(val) and d["invalid"][0]["line"] == 2
