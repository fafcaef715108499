"""Undo the usual ways of hiding an instruction from a pattern matcher, before the injection rules run.

``views(text)`` returns the texts to scan: the normalised text itself, plus one view per hidden layer
found in it. Normalisation: NFKC (full-width and styled letters to plain ones), zero-width and other
invisible format characters removed, Unicode tag characters (U+E0000 block, invisible "ASCII
smuggling") decoded to the ASCII they encode, common Cyrillic/Greek look-alike letters mapped to
Latin inside Latin words, letters spaced or dotted apart ("i g n o r e", "i.g.n.o.r.e") joined.
Hidden layers: base64 spans (16+ characters that decode to mostly printable UTF-8) and the ROT13
reading of the whole text; each decoded layer is normalised too.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata

# Zero-width and invisible formatting characters (Cf) except those that carry meaning in scripts
# (ZWNJ/ZWJ between Indic/Arabic letters are removed too: a model reads the text the same).
_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e"
                        "\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]")
_TAGS = re.compile("[\U000e0000-\U000e007f]+")
_HOMOGLYPHS = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "Х": "X", "І": "I", "ο": "o", "α": "a", "ε": "e", "ι": "i", "ν": "v", "ρ": "p", "τ": "t", "υ": "u",
    "Ο": "O", "Α": "A", "Ε": "E", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ρ": "P", "Τ": "T",
})
_MIXED_WORD = re.compile(r"\b(?=\w*[A-Za-z])(?=\w*[\u0370-\u03ff\u0400-\u04ff])\w+\b")
# Four or more single letters separated by one space, dot, dash, underscore or asterisk; a run of
# spaced words keeps its word gaps where the separator was doubled ("i g n o r e  a l l").
_SPACED = re.compile(r"(?<!\w)(?:[^\W\d_](?:[ .\-_*]|  ?)){3,}[^\W\d_](?!\w)")
_B64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")


def _despace(m: re.Match[str]) -> str:
    """Join the letters; the commonest separator is the one between letters, any other (or a doubled
    one) marks a word gap: "i g n o r e  a l l" and "i.g.n.o.r.e a.l.l" both read "ignore all"."""
    s = m.group()
    seps = re.findall(r"(?<=[^\W\d_])[ .\-_*]+(?=[^\W\d_])", s)
    letter_sep = max(set(seps), key=seps.count) if seps else " "
    out = []
    for i, part in enumerate(re.split(r"([ .\-_*]+)", s)):
        out.append(part if i % 2 == 0 else ("" if part == letter_sep else " "))
    return "".join(out)


def normalise(text: str) -> str:
    text = _TAGS.sub(lambda m: "".join(chr(ord(c) - 0xE0000) for c in m.group()
                                       if 0x20 <= ord(c) - 0xE0000 < 0x7F), text)
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = _MIXED_WORD.sub(lambda m: m.group().translate(_HOMOGLYPHS), text)
    return _SPACED.sub(_despace, text)


def _decode_b64(span: str) -> str | None:
    s = span.replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
        out = raw.decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    printable = sum(ch.isprintable() or ch in "\n\t" for ch in out)
    letters = sum(ch.isalpha() for ch in out)
    return out if out and printable / len(out) > 0.95 and letters / len(out) > 0.5 else None


def hidden_layers(text: str) -> list[str]:
    """Decoded base64 spans and the ROT13 reading, each normalised (not recursive beyond one level)."""
    layers = []
    for m in _B64.finditer(text):
        if not re.search(r"[A-Z]", m.group()) or not re.search(r"[a-z]", m.group()):
            continue  # plain words, hex digests and numbers are not base64 payloads worth decoding
        decoded = _decode_b64(m.group())
        if decoded:
            layers.append(normalise(decoded))
    if re.search(r"[A-Za-z]{4}", text):
        layers.append(codecs.decode(text, "rot13"))
    return layers


def views(text: str) -> list[str]:
    norm = normalise(text)
    return [norm, *hidden_layers(norm)]
