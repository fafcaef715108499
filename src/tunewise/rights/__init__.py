"""Rights: license table and the data + base-model + use verdict, Croissant dataset descriptions,
model cards, regulatory flags. Called by ``audit``, ``pilot`` and ``runner``; informational, not
legal advice."""

from tunewise.rights.table import LicenseRow, find, rows
from tunewise.rights.verdict import NOT_LEGAL_ADVICE, STATUSES, USES, Verdict, verdict

__all__ = ["NOT_LEGAL_ADVICE", "STATUSES", "USES", "LicenseRow", "Verdict", "find", "rows", "verdict"]
