"""tunewise: should we fine-tune? Measured answers with dated prices and confidence intervals.

The public surface is small on purpose; heavy parts (torch, transformers, fastapi) live in
sub-packages that are imported only when used.
"""

from tunewise.errors import BadInputError, Problem, TunewiseError

__version__ = "0.1.0"
__all__ = ["BadInputError", "Problem", "TunewiseError", "__version__"]
