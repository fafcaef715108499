"""Dated, sourced prices for fine-tuning, inference and GPUs, loaded from YAML data files.

>>> from datetime import date
>>> from tunewise.catalog import load_catalog
>>> cat = load_catalog(as_of=date(2023, 9, 1))
>>> cat.price("openai", "gpt-3.5-turbo-0613", "training").usd
Decimal('8.00')

Data files live in ``tunewise/catalog/data/*.yaml`` (schema: ``tunewise.catalog.schema``); users add
or override prices with their own files (``load_catalog([path])`` or ``TUNEWISE_CATALOG``).
Unknown providers, models, GPUs or prices raise ``BadInputError`` with suggestions, never $0.
"""

from tunewise.catalog.catalog import DEFAULT_STALE_DAYS, Catalog, Price, ProviderInfo, load_catalog
from tunewise.catalog.loader import bundled_files, read_file
from tunewise.catalog.schema import KIND_GROUPS, ApiModel, GpuSpec, OpenModel, TrainingRules

__all__ = [
    "DEFAULT_STALE_DAYS", "KIND_GROUPS", "ApiModel", "Catalog", "GpuSpec", "OpenModel", "Price",
    "ProviderInfo", "TrainingRules", "bundled_files", "load_catalog", "read_file",
]
