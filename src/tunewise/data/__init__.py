"""Reading training data: one ``Example`` type, streaming readers, validation with file:line.

Public API:
- ``scan(path, ...)`` streams ``Example`` and ``Problem`` items (memory does not grow with file size).
- ``load(path, ...)`` collects them into a ``Dataset`` (examples + problems + format).
- ``detect_format(path)`` tells the format without reading the whole file.
"""

from tunewise.data.example import Example, TaskKind
from tunewise.data.readers import FORMATS, Columns, Dataset, detect_format, load, scan

__all__ = ["FORMATS", "Columns", "Dataset", "Example", "TaskKind", "detect_format", "load", "scan"]
