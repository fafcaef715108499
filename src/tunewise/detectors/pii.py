"""Personal data in free text: e-mail addresses (also spelled out), phone numbers (also unformatted),
payment cards, IBANs (any case), IP addresses, national ID numbers, street addresses, cued names and
credentials (API keys, tokens, private keys).

Patterns are deliberately conservative and every numeric match is checked before it counts:
payment cards pass the Luhn checksum (ISO/IEC 7812-1), IBANs pass the ISO 13616 mod-97 check with
the per-country length, IP addresses parse with :mod:`ipaddress`, US SSNs skip the ranges the SSA
never issues (area 000/666/9xx, group 00, serial 0000) and UK NINOs follow HMRC's prefix rules.

``find_pii(text)`` returns hits with ``type``, ``start``, ``end`` (character offsets) and the matched
``value``; ``redact(text)`` replaces each hit with ``[TYPE]``. The numeric scanners are gated by a
cheap check for their trigger ('@', a run of digits, ':'), so ordinary prose stays fast; the word
forms live in ``pii_text`` and credentials in ``secrets``. This is the fast first stage: the ``pii``
extra adds named-entity recognition (``tunewise.detectors.ner``) on top, where it is installed.
"""

from __future__ import annotations

import ipaddress
import re
from collections import OrderedDict
from dataclasses import dataclass

from tunewise.detectors import ner
from tunewise.detectors.pii_text import find_text_pii
from tunewise.detectors.secrets import find_secrets

PII_TYPES: tuple[str, ...] = ("email", "phone", "credit_card", "iban", "ipv4", "ipv6", "us_ssn", "uk_nino",
                              "address", "person", "location", "secret")

# ISO 13616 IBAN lengths per country (SWIFT IBAN registry).
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
    "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}

# Three scanners, each run only when the text holds its trigger character ('@', a digit, ':'), so
# ordinary prose costs a few C-level searches. Overlapping hits keep the earliest, then the longest.
_EMAIL = re.compile(r"(?P<email>\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b)")
_NUMERIC = re.compile(
    r"""
    (?P<iban>\b[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]{4}){2,7}(?:[ ]?[A-Za-z0-9]{1,4})?\b)
  | (?P<credit_card>(?<![\d-])\d{4}(?:[ -]?\d{4}){2}(?:[ -]?\d{1,4}){1,2}(?![\d-])|(?<![\d-])\d{4}[ -]?\d{6}[ -]?\d{5}(?![\d-]))
  | (?P<us_ssn>(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-]))
  | (?P<uk_nino>\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][ ]?\d{2}[ ]?\d{2}[ ]?\d{2}[ ]?[A-D]\b)
  | (?P<ipv4>(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d))
  | (?P<phone>(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}(?![\w-]))
  | (?P<phone_bare>(?<![\w+.,/:-])\+?\d{10,13}(?![\w/:-]|[.,]\d))
    """,
    re.VERBOSE,
)
_IPV6 = re.compile(r"(?P<ipv6>(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}){0,3}(?![\w:]))")
# Every numeric type has 7+ characters of digits and separators in a row (a phone number, a card, an
# SSN, an IPv4 address, the digits of an IBAN or a NINO); texts without such a run skip that scan.
_DIGIT = re.compile(r"\d[\d .()+-]{5,}\d")
_NINO_BAD_PREFIXES = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


@dataclass(frozen=True, slots=True)
class PiiHit:
    type: str
    start: int
    end: int
    value: str

    def masked(self) -> str:
        """The value with all but its last 2 characters hidden (safe to print in a report)."""
        v = self.value
        return "*" * max(0, len(v) - 2) + v[-2:]


def luhn_ok(digits: str) -> bool:
    """ISO/IEC 7812-1 Luhn checksum over a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(value: str) -> bool:
    """ISO 13616: country length and the mod-97 check (move 4 chars to the end, letters A=10…)."""
    s = value.replace(" ", "").upper()
    if _IBAN_LENGTHS.get(s[:2]) != len(s):
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _ssn_ok(v: str) -> bool:
    area, group, serial = v.split("-")
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


def _phone_ok(v: str) -> bool:
    digits = sum(c.isdigit() for c in v)
    # E.164 numbers have at most 15 digits; fewer than 7 is a date, a price or a score, not a phone.
    if not 7 <= digits <= 15:
        return False
    has_sep = any(c in v for c in " .-()")
    return v.startswith("+") or "(" in v or (has_sep and digits >= 9)


def _bare_phone_ok(v: str) -> bool:
    """An unformatted number: E.164 with '+', a NANP number (area and exchange codes start 2-9, with or
    without the leading 1), or a national number with a trunk 0 (UK, FR, DE, ...). Unix timestamps and
    order numbers mostly start with 1 and fail the NANP rule."""
    if v.startswith("+"):
        return 8 <= len(v) - 1 <= 15
    d = v[1:] if len(v) == 11 and v[0] == "1" else v
    if len(d) == 10 and d[0] in "23456789" and d[3] in "23456789":
        return True
    return v[0] == "0" and v[1] != "0" and len(v) in (10, 11)


def _valid(kind: str, v: str) -> bool:
    if kind == "credit_card":
        digits = "".join(c for c in v if c.isdigit())
        return 13 <= len(digits) <= 19 and luhn_ok(digits)
    if kind == "iban":
        return iban_ok(v)
    if kind == "us_ssn":
        return _ssn_ok(v)
    if kind == "uk_nino":
        return v[:2].upper() not in _NINO_BAD_PREFIXES
    if kind in ("ipv4", "ipv6"):
        try:
            ipaddress.ip_address(v)
        except ValueError:
            return False
        return True
    if kind == "phone":
        return _phone_ok(v)
    if kind == "phone_bare":
        return _bare_phone_ok(v)
    return True


def _scan(pattern: re.Pattern[str], text: str, hits: list[PiiHit]) -> None:
    for m in pattern.finditer(text):
        kind = m.lastgroup
        value = m.group()
        if kind is not None and _valid(kind, value):
            hits.append(PiiHit("phone" if kind == "phone_bare" else kind, m.start(), m.end(), value))
        elif kind == "credit_card" and _phone_ok(value):
            hits.append(PiiHit("phone", m.start(), m.end(), value))


def find_pii(text: str) -> list[PiiHit]:
    """Every validated PII hit in ``text``, in order of position, without overlaps."""
    hits: list[PiiHit] = []
    if "@" in text:
        _scan(_EMAIL, text, hits)
    if _DIGIT.search(text):
        _scan(_NUMERIC, text, hits)
    if ":" in text:
        _scan(_IPV6, text, hits)
    hits.extend(PiiHit(kind, a, b, v) for kind, a, b, v in find_text_pii(text))
    hits.extend(PiiHit("secret", a, b, v) for a, b, v in find_secrets(text))
    if ner.enabled():  # the second stage (the `pii` extra): names, places, detect-secrets plugins
        hits.extend(PiiHit(kind, a, b, v) for kind, a, b, v in ner.find_entities(text))
    if len(hits) < 2:
        return hits
    hits.sort(key=lambda h: (h.start, -(h.end - h.start)))
    kept = [hits[0]]
    for h in hits[1:]:
        if h.start >= kept[-1].end:
            kept.append(h)
    return kept


_REDACTED: OrderedDict[str, None] = OrderedDict()   # recent outputs of redact(): redacting them again is a no-op
_REDACTED_MAX = 8192


def redact(text: str, *, template: str = "[{type}]") -> str:
    """``text`` with each PII hit replaced by ``template`` (default ``[EMAIL]``, ``[PHONE]`` …).

    A text this process just produced with the default template is returned as is, so the store's
    boundary does not pay a second scan (the named-entity stage costs milliseconds) for text the
    guardrails already redacted."""
    default = template == "[{type}]"
    if default and text in _REDACTED:
        return text
    out, pos = [], 0
    for h in find_pii(text):
        out.append(text[pos:h.start])
        out.append(template.format(type=h.type.upper()))
        pos = h.end
    out.append(text[pos:])
    result = "".join(out)
    if default and len(result) > 16:
        _REDACTED[result] = None
        if len(_REDACTED) > _REDACTED_MAX:
            try:
                _REDACTED.popitem(last=False)
            except KeyError:  # another thread emptied it first
                pass
    return result
