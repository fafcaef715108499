"""The model service: ``create_app(ServeConfig(...))`` (FastAPI, the ``serve`` extra) and API keys.

>>> from pathlib import Path
>>> from tunewise.serve import ServeConfig, price_from_rate
>>> config = ServeConfig(run_dir=Path("runs/minilm"), db_url="sqlite:///requests.db",
...                      price=price_from_rate("0.35"))
>>> config.validate()

``create_app(config)`` then loads the run's model and returns the FastAPI application.

Drift and quality logic lives in ``tunewise.monitor``; this package only serves and records.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ServeConfig", "create_app", "create_key", "list_keys", "price_from_catalog", "price_from_rate",
           "revoke_key"]

_LAZY = {"create_app": "tunewise.serve.app", "ServeConfig": "tunewise.serve.config",
         "price_from_rate": "tunewise.serve.config", "price_from_catalog": "tunewise.serve.config",
         "create_key": "tunewise.serve.keys", "revoke_key": "tunewise.serve.keys", "list_keys": "tunewise.serve.keys"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tunewise.serve' has no attribute {name!r}")
