"""New API keys get least-privilege scopes unless more are asked for."""

from __future__ import annotations

import pytest

from tunewise.errors import BadInputError


def test_default_scopes_are_least_privilege_and_all_is_explicit(tmp_path, cli):
    from tunewise.monitor.store import open_store
    from tunewise.serve.keys import DEFAULT_SCOPES, SCOPES, create_key, lookup_key, parse_scopes

    with open_store(f"sqlite:///{tmp_path / 'k.db'}") as store:
        info, plain = create_key(store, "svc")
        assert info.scopes == DEFAULT_SCOPES and "dashboard" not in info.scopes and "metrics" not in info.scopes
        assert lookup_key(store, plain)[1].scopes == DEFAULT_SCOPES
        assert create_key(store, "ops", ["all"])[0].scopes == SCOPES
        assert create_key(store, "dash", ["dashboard,metrics"])[0].scopes == ("dashboard", "metrics")
    with pytest.raises(BadInputError) as exc:
        parse_scopes(["dashbord"])
    assert "dashboard" in exc.value.render()
    res = cli("keys", "create", "--name", "cli", "--db", f"sqlite:///{tmp_path / 'k.db'}")
    assert res.code == 0 and "scopes: classify, chat, feedback" in res.stderr, res.output
