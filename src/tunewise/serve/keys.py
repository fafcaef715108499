"""API keys: created once (the plaintext is shown to the user a single time), stored as
HMAC-SHA256(per-key random salt, secret), checked in constant time, revocable.

A key reads ``tw_<key_id>_<secret>``; only ``key_id`` ever appears in logs or the request store.
No FastAPI here: the ``tunewise keys`` CLI uses this module too.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tunewise.errors import BadInputError, did_you_mean

if TYPE_CHECKING:  # pragma: no cover
    from tunewise.monitor.store import Store

SCOPES = ("classify", "chat", "feedback", "dashboard", "metrics")
# Least privilege: a key made without --scope may use the model and send feedback, not read the
# dashboard (which shows stored traffic) or /metrics; ask for those by name, or for "all".
DEFAULT_SCOPES = ("classify", "chat", "feedback")
_KEY_RE = re.compile(r"^tw_([0-9a-f]{12})_([A-Za-z0-9_-]{32,64})$")


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def as_dict(self) -> dict[str, object]:
        return {"key_id": self.key_id, "name": self.name, "scopes": list(self.scopes),
                "created_at": self.created_at.isoformat(),
                "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None}


def _digest(salt: str, secret: str) -> str:
    return hmac.new(bytes.fromhex(salt), secret.encode(), hashlib.sha256).hexdigest()


def parse_scopes(scopes: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    if not scopes:
        return DEFAULT_SCOPES
    out = []
    for s in scopes:
        for part in s.split(","):
            part = part.strip()
            if not part:
                continue
            if part == "all":
                out.extend(SCOPES)
                continue
            if part not in SCOPES:
                raise BadInputError(f"unknown key scope '{part}'", where="--scope",
                                    fix=did_you_mean(part, (*SCOPES, "all")))
            out.append(part)
    return tuple(dict.fromkeys(out))


def create_key(store: Store, name: str, scopes: list[str] | tuple[str, ...] | None = None) -> tuple[KeyInfo, str]:
    """Create a key; returns (info, plaintext). The plaintext is not stored anywhere."""
    from tunewise.monitor.schema import api_keys, utcnow

    name = name.strip()
    if not name or len(name) > 200:
        raise BadInputError("a key needs a name of 1-200 characters", where="--name",
                            fix="Pass --name with who or what uses the key, e.g. --name checkout-service")
    scope_t = parse_scopes(scopes)
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    now = utcnow()
    with store.engine.begin() as conn:
        conn.execute(api_keys.insert(), {"key_id": key_id, "name": name, "salt": salt,
                                         "digest": _digest(salt, secret), "scopes": ",".join(scope_t),
                                         "created_at": now, "revoked_at": None})
    return KeyInfo(key_id, name, scope_t, now, None), f"tw_{key_id}_{secret}"


def revoke_key(store: Store, key_id: str) -> KeyInfo:
    from sqlalchemy import select, update

    from tunewise.monitor.schema import api_keys, utcnow

    with store.engine.begin() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).mappings().first()
        if row is None:
            known = [r[0] for r in conn.execute(select(api_keys.c.key_id))]
            raise BadInputError(f"no API key with id '{key_id}'", where="tunewise keys revoke",
                                fix=did_you_mean(key_id, known) if known else "Create one with `tunewise keys create`")
        if row["revoked_at"] is None:
            conn.execute(update(api_keys).where(api_keys.c.key_id == key_id).values(revoked_at=utcnow()))
    return next(k for k in list_keys(store) if k.key_id == key_id)


def list_keys(store: Store) -> list[KeyInfo]:
    from sqlalchemy import select

    from tunewise.monitor.schema import api_keys

    with store.engine.connect() as conn:
        rows = conn.execute(select(api_keys).order_by(api_keys.c.created_at)).mappings().all()
    return [KeyInfo(r["key_id"], r["name"], tuple(s for s in r["scopes"].split(",") if s), r["created_at"],
                    r["revoked_at"]) for r in rows]


def lookup_key(store: Store, presented: str) -> tuple[str, KeyInfo | None]:
    """Check a presented key. Returns (verdict, info): 'ok', 'revoked', or 'invalid' (info None)."""
    from sqlalchemy import select

    from tunewise.monitor.schema import api_keys

    m = _KEY_RE.match(presented or "")
    if not m:
        return "invalid", None
    key_id, secret = m.groups()
    with store.engine.connect() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).mappings().first()
    if row is None or not hmac.compare_digest(row["digest"], _digest(row["salt"], secret)):
        return "invalid", None
    info = KeyInfo(row["key_id"], row["name"], tuple(s for s in row["scopes"].split(",") if s),
                   row["created_at"], row["revoked_at"])
    return ("revoked" if row["revoked_at"] is not None else "ok"), info
