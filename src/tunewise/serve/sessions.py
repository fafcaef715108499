"""Dashboard sessions: signing in with an API key issues a random token (the cookie); only its
SHA-256 is stored, with an expiry, so the cookie never holds the key and a stolen database row
cannot be replayed. A session inherits its key's scopes and dies with the key's revocation.
No FastAPI here."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from tunewise.monitor.store import Store
    from tunewise.serve.keys import KeyInfo

SESSION_TTL = timedelta(hours=8)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def create_session(store: Store, key_id: str, ttl: timedelta = SESSION_TTL) -> str:
    """A new session for ``key_id``; returns the token (set it as the cookie; it is not stored)."""
    from sqlalchemy import delete

    from tunewise.monitor.schema import dashboard_sessions, utcnow

    token = secrets.token_urlsafe(32)
    now = utcnow()
    with store.engine.begin() as conn:
        conn.execute(delete(dashboard_sessions).where(dashboard_sessions.c.expires_at < now))
        conn.execute(dashboard_sessions.insert(), {"token_hash": _hash(token), "key_id": key_id, "created_at": now,
                                                   "expires_at": now + ttl})
    return token


def resolve_session(store: Store, token: str) -> tuple[str, KeyInfo | None]:
    """(verdict, key info) for a cookie token: 'ok', 'revoked' or 'invalid' (unknown or expired)."""
    from sqlalchemy import select

    from tunewise.monitor.schema import api_keys, dashboard_sessions, utcnow
    from tunewise.serve.keys import KeyInfo

    if not token or len(token) > 128:
        return "invalid", None
    q = (select(api_keys).join(dashboard_sessions, dashboard_sessions.c.key_id == api_keys.c.key_id)
         .where(dashboard_sessions.c.token_hash == _hash(token), dashboard_sessions.c.expires_at > utcnow()))
    with store.engine.connect() as conn:
        row = conn.execute(q).mappings().first()
    if row is None:
        return "invalid", None
    info = KeyInfo(row["key_id"], row["name"], tuple(s for s in row["scopes"].split(",") if s), row["created_at"],
                   row["revoked_at"])
    return ("revoked" if row["revoked_at"] is not None else "ok"), info


def end_session(store: Store, token: str) -> None:
    from sqlalchemy import delete

    from tunewise.monitor.schema import dashboard_sessions

    with store.engine.begin() as conn:
        conn.execute(delete(dashboard_sessions).where(dashboard_sessions.c.token_hash == _hash(token)))
