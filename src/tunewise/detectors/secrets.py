"""Credentials in free text: API keys, access tokens, private keys and ``password=...`` assignments.

The fast first stage (always on): one regular expression of vendor key shapes with fixed prefixes
(AWS, GitHub, Slack, Stripe, OpenAI-style ``sk-``, Google ``AIza``, JWTs, PEM private keys, tunewise's
own ``tw_`` keys, ``Bearer`` tokens) and keyword assignments (``api_key=``, ``token:``, ``password=``)
whose value is long enough to be a credential. With the ``pii`` extra, ``tunewise.detectors.ner``
adds the ``detect-secrets`` plugins on top. Every hit has type ``secret``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_SHAPES = re.compile(
    r"""
    -----BEGIN[ A-Z]{0,20}PRIVATE[ ]KEY-----[\s\S]*?(?:-----END[ A-Z]{0,20}PRIVATE[ ]KEY-----|\Z)
  | \b(?:AKIA|ASIA)[0-9A-Z]{16}\b
  | \bgh[pousr]_[A-Za-z0-9]{30,}\b
  | \bgithub_pat_[A-Za-z0-9_]{22,}\b
  | \bxox[abprs]-[A-Za-z0-9-]{10,}
  | \b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}\b
  | \bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}
  | \bAIza[0-9A-Za-z_-]{35}
  | \beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}
  | \btw_[0-9a-f]{12}_[A-Za-z0-9_-]{32,64}
  | \bhf_[A-Za-z0-9]{30,}\b
  | \bglpat-[A-Za-z0-9_-]{20}\b
    """,
    re.VERBOSE,
)
# "api_key = abc...", "Token: abc...", "password: hunter2!!", "Authorization: Bearer abc..."; only the value
# is reported, and it must hold 8+ non-space characters (a secret, not "password: yes").
_ASSIGNED = re.compile(
    r"""(?ix)
    \b(?:api[_ -]?key|api[_ -]?secret|access[_ -]?key|secret[_ -]?key|client[_ -]?secret|auth[_ -]?token|
       access[_ -]?token|refresh[_ -]?token|token|secret|password|passwd|pwd|passphrase)
    ["']?\s*(?:[:=]|\s\s*is\s)\s*["']?
    (?P<value>(?=[^\s"',;]*[0-9!@#$%^&*_\-+/=])[^\s"',;]{8,200})
    """
)
_BEARER = re.compile(r"(?i)\bbearer\s+(?P<value>[A-Za-z0-9._~+/-]{16,}=*)")


def find_secrets(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, value) of every credential-looking span (may overlap; the caller resolves)."""
    for m in _SHAPES.finditer(text):
        yield m.start(), m.end(), m.group()
    for pattern in (_ASSIGNED, _BEARER):
        for m in pattern.finditer(text):
            yield m.start("value"), m.end("value"), m.group("value")
