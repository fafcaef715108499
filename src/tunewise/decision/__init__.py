"""The decision: measured quality and estimated cost in, a verdict with its reasons out (pure).

>>> from decimal import Decimal as D
>>> from tunewise.decision import Option, Settings, classification_scores, decide
>>> gold = ["a", "b"] * 50
>>> s = classification_scores(["floor", "ft"], gold, [gold, gold], ["a", "b"], "macro_f1",
...                           resamples=1000, seed=0)
>>> v = decide([Option("floor", "floor", trains=False, quality=1.0, provenance="measured",
...                    tco=(D(10), D(12), D(14))),
...             Option("ft", "fine-tune", trains=True, quality=1.0, provenance="measured",
...                    tco=(D(90), D(100), D(120)))], s, Settings("macro_f1", margin=0.01, alpha=0.05))
>>> v["recommended"], v["verdict"]
('floor', 'do-not-fine-tune')
"""

from tunewise.decision.paired import Scores, classification_scores, item_scores
from tunewise.decision.rule import Option, Settings, break_even, compare, decide

__all__ = ["Option", "Scores", "Settings", "break_even", "classification_scores", "compare", "decide",
           "item_scores"]
