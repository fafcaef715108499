"""Text hygiene for every string a client sends, applied while the request body is validated, so a
bad text is answered 422 for its own request before it can reach a shared micro-batch or the store.

- NUL (U+0000) and unpaired UTF-16 surrogates (U+D800-U+DFFF, which JSON ``\\ud800`` escapes can
  carry) are refused: 422 naming the field, the character and its position. Tokenizers crash on
  surrogates and PostgreSQL text cannot hold NUL, so neither can be served or stored faithfully.
- Other control characters (C0 except tab, newline and carriage return; DEL; C1) are removed: they
  carry no meaning for a model and are a common way to hide text from filters.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StrictStr

_REFUSED = re.compile("[\x00\ud800-\udfff]")
_STRIPPED = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(value: str) -> str:
    m = _REFUSED.search(value)
    if m:
        ch = m.group()
        what = "a NUL character (U+0000)" if ch == "\x00" else f"an unpaired UTF-16 surrogate (U+{ord(ch):04X})"
        raise ValueError(f"contains {what} at character {m.start()}; send valid Unicode text without it")
    return _STRIPPED.sub("", value) if _STRIPPED.search(value) else value


CleanStr = Annotated[StrictStr, AfterValidator(clean_text)]
