"""Personal data written in words rather than digits: spelled-out e-mail addresses ("jane at example
dot com"), street addresses, and names introduced by a cue ("my name is …", "Mr …", "signed …").

These are the regex stage that runs on every text; the ``pii`` extra (Presidio + spaCy, see
``tunewise.detectors.ner``) adds statistical PERSON / LOCATION recognition on top.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_TLD = (r"(?:com|org|net|edu|gov|io|co|uk|de|fr|es|it|nl|be|ch|at|ru|cn|jp|br|pt|info|biz|me|ai|dev|app|eu|us|ca|au|"
        r"se|dk|fi|pl|cz|ie|nz|za|mx|ar|cl|gr|hu|ro|sk|si|hr|lt|lv|ee|ua|tr|il|kr|tw|hk|sg|tv|cc|xyz|online|tech|site|mail)")
_AT = r"(?:\s*[\[(<{]\s*at\s*[\])>}]\s*|\s+at\s+|\s*@\s*)"
_DOT = r"(?:\s*[\[(<{]\s*dot\s*[\])>}]\s*|\s+dot\s+)"
# The local part and domain labels are single tokens; at least one "dot" must be spelled out, and the
# last label must be a known top-level domain, so "meet me at the station" never matches.
_SPELLED_EMAIL = re.compile(
    rf"(?i)(?<![\w.@])[a-z0-9][a-z0-9._%+-]{{0,63}}{_AT}[a-z0-9-]{{1,63}}(?:(?:{_DOT}|\.)[a-z0-9-]{{1,63}})*{_DOT}{_TLD}\b"
)

_STREET_WORDS = (r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|"
                 r"Square|Sq|Parkway|Pkwy|Highway|Hwy|Close|Crescent|Row|Mews|Gardens)")
_ADDRESS = re.compile(
    rf"""
    \b\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Z][A-Za-z'-]+\s+){{1,3}}{_STREET_WORDS}\b\.?
        (?:,?\s+(?:Apt|Suite|Unit|Flat)\.?\s*\#?\w+)?
        (?:,\s*[A-Z][A-Za-z'-]+(?:\s+[A-Z][A-Za-z'-]+)?)?(?:,?\s+[A-Z]{{2}}\s+\d{{5}}(?:-\d{{4}})?)?
  | \b\d{{1,4}}[a-z]?,?\s+(?:rue|avenue|boulevard|place|chemin|all[ée]e)\s+(?:(?:de|du|des|la|le|l')\s*)*[A-Z][\w'-]+
  | \b(?:calle|avenida|rua|via|viale|piazza|plaza)\s+(?:(?:de|del|da|do|la|las|los)\s+)*[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?,?\s+\d{{1,4}}\b
  | \b[A-ZÄÖÜ][a-zäöüß]+(?:straße|strasse|weg|gasse|platz|allee|ring|damm)\s+\d{{1,4}}[a-z]?\b
    """,
    re.VERBOSE,
)

_NAME = r"[A-Z][a-z'’]+(?:(?:[ ]|-|\s?\b(?:van|von|de|da|di|del|la|le)\s)[A-Z][a-z'’]+){0,3}"
_PERSON_CUE = re.compile(
    rf"""
    (?:\b[Mm]y\ name\ is|\b[Mm]y\ name's|\b[Nn]ame\s*:|\b(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?|\b[Ss]igned,?|
       \b(?:[Rr]egards|[Ss]incerely|[Cc]heers|[Tt]hanks),\s*\n?|\b[Cc]ontact|\b[Cc]all|\b[Ee]mail|\b[Aa]sk\ for|
       \bI\ am|\bI'm|\b[Tt]his\ is|\b[Pp]atient|\b[Cc]ustomer|\b[Cc]lient|\b[Ee]mployee)
    \s+(?P<name>{_NAME})
    """,
    re.VERBOSE,
)
# A capitalised word after a weak cue ("I am", "call", "this is") is a name only when it is followed by
# another capitalised word (a surname) or the cue is a strong one (title, "my name is", a sign-off).
_STRONG = re.compile(r"(?i)name|mr|mrs|ms|miss|dr|prof|signed|regards|sincerely|cheers|thanks")
_NOT_NAMES = frozenset({
    "The", "This", "That", "There", "Here", "It", "We", "You", "They", "He", "She", "I", "A", "An", "And", "But",
    "Not", "So", "Very", "Just", "Sure", "Glad", "Happy", "Sorry", "Going", "Monday", "Tuesday", "Wednesday",
    "Thursday", "Friday", "Saturday", "Sunday", "Support", "Sales", "Us", "Me", "Today", "Tomorrow", "Now",
    "Please", "All", "Everyone", "Team", "Customer", "Service", "Home", "Office",
})


def find_text_pii(text: str) -> Iterator[tuple[str, int, int, str]]:
    """(type, start, end, value) for spelled-out e-mails, street addresses and cued names."""
    lower = text.lower()
    if " at " in lower or "[at]" in lower or "(at)" in lower:
        for m in _SPELLED_EMAIL.finditer(text):
            if "dot" in m.group().lower():
                yield "email", m.start(), m.end(), m.group()
    if any(c.isdigit() for c in text):
        for m in _ADDRESS.finditer(text):
            yield "address", m.start(), m.end(), m.group()
    for m in _PERSON_CUE.finditer(text):
        name = m.group("name")
        first = name.split()[0].split("-")[0]
        if first in _NOT_NAMES:
            continue
        cue = m.group()[: m.start("name") - m.start()]
        if not _STRONG.search(cue) and " " not in name:
            continue
        yield "person", m.start("name"), m.end("name"), name
