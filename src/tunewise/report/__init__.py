"""The report: one self-contained HTML file (plots embedded, works offline), report.json, summary.md.

Public API: ``write(report_dict, out_dir)`` renders ``report.html`` and ``summary.md`` from the
report dictionary that ``tunewise run`` also saves as ``report.json``. Needs the ``report`` extra
(plotly, jinja2), imported on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write(report: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    from tunewise.errors import require

    require("plotly", "report")
    require("jinja2", "report")
    from tunewise.report.render import write as _write

    return _write(report, Path(out_dir))


__all__ = ["write"]
