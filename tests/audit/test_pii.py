"""PII detectors: each type found, checksums enforced, ordinary text left alone, redact removes hits."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tunewise.detectors import find_pii, redact
from tunewise.detectors.pii import iban_ok, luhn_ok


@pytest.mark.parametrize("text,kind,value", [
    ("write to jane.doe+films@example.co.uk today", "email", "jane.doe+films@example.co.uk"),
    ("call +44 20 7946 0958 now", "phone", "+44 20 7946 0958"),
    ("call (555) 123-4567 now", "phone", "(555) 123-4567"),
    ("card 4111 1111 1111 1111 was charged", "credit_card", "4111 1111 1111 1111"),
    ("amex 3782-822463-10005 ok", "credit_card", "3782-822463-10005"),
    ("pay GB82 WEST 1234 5698 7654 32 please", "iban", "GB82 WEST 1234 5698 7654 32"),
    ("pay DE89370400440532013000.", "iban", "DE89370400440532013000"),
    ("server 192.168.1.20 is down", "ipv4", "192.168.1.20"),
    ("it was 10.0.0.1.", "ipv4", "10.0.0.1"),
    ("v6 2001:db8::8a2e:370:7334 here", "ipv6", "2001:db8::8a2e:370:7334"),
    ("loopback ::1 and", "ipv6", "::1"),
    ("ssn 078-05-1120 on file", "us_ssn", "078-05-1120"),
    ("nino AB 12 34 56 C on file", "uk_nino", "AB 12 34 56 C"),
])
def test_finds_each_type(text, kind, value):
    hits = find_pii(text)
    assert [(h.type, h.value) for h in hits] == [(kind, value)]
    assert text[hits[0].start:hits[0].end] == value
    assert f"[{kind.upper()}]" in redact(text) and value not in redact(text)


@pytest.mark.parametrize("text", [
    "card 4111 1111 1111 1112 fails Luhn",
    "GB00 WEST 1234 5698 7654 32 fails mod-97",
    "999.1.1.1 is not an address",
    "000-12-3456 is never issued",
    "In 2019 the score was 3-2 at 12:30 and 10:20:30, ratio 1.2.3, price 1,299.00, date 2021-03-04",
    "A film of 1967 with a 120-minute runtime; rated 4/5 by 12 critics.",
    "BG 12 34 56 A has a prefix HMRC never issues",
])
def test_ignores_invalid_and_ordinary_numbers(text):
    assert find_pii(text) == []


def _luhn_digit(body: str) -> str:
    for d in "0123456789":
        if luhn_ok(body + d):
            return d
    raise AssertionError


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=10**14, max_value=10**15 - 1), st.sampled_from(["", " ", "-"]))
def test_every_luhn_valid_16_digit_number_is_found(body, sep):
    digits = str(body) + _luhn_digit(str(body))
    card = sep.join(digits[i:i + 4] for i in range(0, 16, 4))
    hits = find_pii(f"paid with {card} yesterday")
    assert [(h.type, h.value) for h in hits] == [("credit_card", card)]


def test_iban_checksum_matches_known_examples():
    assert iban_ok("GB82WEST12345698765432") and iban_ok("NL91ABNA0417164300") and iban_ok("FR1420041010050500013M02606")
    assert not iban_ok("NL91ABNA0417164301") and not iban_ok("XX82WEST12345698765432")


_WORDS = st.text(alphabet="abcdefghij klmnop,.", max_size=60)


@settings(max_examples=60, deadline=None)
@given(_WORDS, _WORDS, st.from_regex(r"[a-z]{1,8}(\.[a-z]{1,5})?@[a-z]{2,8}\.(com|org|io)", fullmatch=True))
def test_redact_removes_an_email_anywhere(before, after, email):
    text = f"{before} {email} {after}"
    red = redact(text)
    assert email not in red and "[EMAIL]" in red
    assert red.startswith(before) and red.endswith(after)


def test_mixed_text_ordered_without_overlap():
    rng = random.Random(0)
    parts = ["mail a@b.io", "ip 10.1.2.3", "card 4111-1111-1111-1111", "ssn 078-05-1120"]
    rng.shuffle(parts)
    hits = find_pii(" and ".join(parts))
    assert sorted(h.type for h in hits) == ["credit_card", "email", "ipv4", "us_ssn"]
    assert all(a.end <= b.start for a, b in zip(hits, hits[1:]))


@pytest.mark.parametrize("text,kind,value", [
    ("ring 4155550199 after six", "phone", "4155550199"),
    ("ring +33612345678 after six", "phone", "+33612345678"),
    ("iban nl81rabo0312345678 ok", "iban", "nl81rabo0312345678"),
    ("write to ana at correo dot es please", "email", "ana at correo dot es"),
    ("write to ana [at] correo [dot] es", "email", "ana [at] correo [dot] es"),
    ("ship to 1200 Maple Avenue tomorrow", "address", "1200 Maple Avenue"),
    ("wohnt in der Lindenstraße 12 seit", "address", "Lindenstraße 12"),
    ("my name is Idris Okonkwo and", "person", "Idris Okonkwo"),
    ("Kind regards,\nBeatriz Moura", "person", "Beatriz Moura"),
    ("use AKIAJ4K5L6M7N8B9V0C1 for s3", "secret", "AKIAJ4K5L6M7N8B9V0C1"),
    ("set api_key=9f8e7d6c5b4a39281706 there", "secret", "9f8e7d6c5b4a39281706"),
    ("header Bearer eyJhbGciOiJIUzI1NiJ9xyzxyzxyz", "secret", "eyJhbGciOiJIUzI1NiJ9xyzxyzxyz"),
])
def test_finds_unformatted_and_word_forms(text, kind, value):
    hits = find_pii(text)
    assert [(h.type, h.value) for h in hits] == [(kind, value)]
    assert value not in redact(text)


@pytest.mark.parametrize("text", [
    "What are the original rules of chess?",
    "We meet at the station at 5 and then walk to the park.",
    "The token of appreciation was a password-protected notebook.",
    "I am Happy to help; call Center hours are 9 to 5.",
    "Released 1700000000 seconds after the epoch, rated 4/5.",
    "Thanks, Everyone, for the 3 great years on Main Street.",
])
def test_word_forms_leave_ordinary_text_alone(text):
    assert find_pii(text) == []
