"""Detectors shared by ``audit`` (training data) and ``guardrails`` (live requests).

Each detector is a plain function over text; none depends on the audit or on the server.
"""

from tunewise.detectors.pii import PII_TYPES, PiiHit, find_pii, redact

__all__ = ["PII_TYPES", "PiiHit", "find_pii", "redact"]
