"""Colour means significance: which difference a report row may colour green or red.

A row is coloured only when its difference is statistically distinguishable from zero - its
interval excludes zero, or (where a task records one) its corrected p-value is below alpha. A
difference of +0.001 with p = 0.99 stays neutral, whatever its sign.
"""

from __future__ import annotations

from typing import Any

__all__ = ["significant", "direction_class"]


def _num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def significant(ci_low: Any = None, ci_high: Any = None, p_corrected: Any = None, alpha: float = 0.05) -> bool:
    """True when the interval ``[ci_low, ci_high]`` excludes zero or ``p_corrected < alpha``."""
    if _num(ci_low) and _num(ci_high) and (ci_low > 0 or ci_high < 0):
        return True
    return _num(p_corrected) and p_corrected < alpha


def direction_class(diff: Any, ci_low: Any = None, ci_high: Any = None, p_corrected: Any = None, alpha: float = 0.05,
                    higher_is_better: bool = True) -> str:
    """``better`` / ``worse`` (CSS classes) for a significant difference, ``""`` otherwise."""
    if not _num(diff) or diff == 0 or not significant(ci_low, ci_high, p_corrected, alpha):
        return ""
    return "better" if (diff > 0) == higher_is_better else "worse"
