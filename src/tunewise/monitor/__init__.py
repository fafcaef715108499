"""Request/feedback store and the monitor: drift, quality, latency, spend, alerts. No FastAPI here.

>>> import tempfile
>>> from tunewise.monitor import open_store, parse_window
>>> parse_window("90m")
datetime.timedelta(seconds=5400)
>>> with open_store(f"sqlite:///{tempfile.mkdtemp()}/requests.db") as store:
...     store.count_requests()
0

``run_monitor(run_dir, store, window=parse_window("1h"))`` then reads the window against the pilot's
reference predictions (see ``tunewise monitor --help``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Store", "dashboard_data", "load_rules", "open_store", "parse_window", "run_monitor"]

_LAZY = {"Store": "tunewise.monitor.store", "open_store": "tunewise.monitor.store",
         "run_monitor": "tunewise.monitor.analyze", "parse_window": "tunewise.monitor.analyze",
         "load_rules": "tunewise.monitor.alerts", "dashboard_data": "tunewise.monitor.timeseries"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tunewise.monitor' has no attribute {name!r}")
