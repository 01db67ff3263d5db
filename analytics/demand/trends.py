"""Is a term rising? Two small models for sparse daily counts, in plain Python.

Search counts per term and day are small integers, mostly zeros, so both models are Poisson ones:

- growth: the later half of the period against the earlier half, ``(later + 1) / (earlier + 1) - 1`` (the +1
  keeps a term that went from 0 to 3 from showing infinite growth). It is called rising when the growth is at
  least ``TESSERA_DEMAND_RISING_GROWTH`` and the split is unlikely under a constant rate: given the total, the later
  half's count is Binomial(total, 1/2) under "no change"; the one-sided p-value must be below ``RISING_P``.
- change point: the day that best splits the series into two Poisson segments of different rates (maximum
  likelihood over every split), kept when the likelihood ratio beats a BIC-like penalty of ``3 ln n`` (the split's
  position is searched, so chi-square thresholds would be too lenient).

Why not ruptures or statsforecast: ruptures' costs are Gaussian/kernel ones meant for dense signals, and
statsforecast (croston/ADIDA for intermittent demand) pulls pandas and numba (hundreds of MB and a JIT warm-up on
CI's two cores) to forecast what a two-rate Poisson model answers here in thirty lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import TypedDict

RISING_P = 0.05


class Trend(TypedDict):
    growth: float
    rising: bool
    change_point: str | None


def _binomial_tail(successes: int, trials: int) -> float:
    """P(X >= successes) for X ~ Binomial(trials, 1/2)."""
    if successes <= 0:
        return 1.0
    return sum(math.comb(trials, k) for k in range(successes, trials + 1)) / 2.0**trials


def _poisson_loglik(total: int, length: int) -> float:
    """Log-likelihood of a segment at its maximum-likelihood rate (the terms with k! cancel in a ratio)."""
    if total == 0 or length == 0:
        return 0.0
    rate = total / length
    return total * math.log(rate) - total


def change_point(counts: Sequence[int]) -> int | None:
    """Index of the first day of the second segment, or None when one rate explains the series."""
    n = len(counts)
    total = sum(counts)
    if n < 4 or total < 5:
        return None
    whole = _poisson_loglik(total, n)
    best, best_at = 0.0, None
    before = 0
    for split in range(1, n):
        before += counts[split - 1]
        gain = _poisson_loglik(before, split) + _poisson_loglik(total - before, n - split) - whole
        if gain > best:
            best, best_at = gain, split
    if best_at is None or 2 * best <= 3 * math.log(n):
        return None
    return best_at


def trend(counts: Sequence[int], days: Sequence[date], *, rising_growth: float) -> Trend:
    """The trend of a daily series ``counts`` (one per day in ``days``, oldest first)."""
    half = len(counts) // 2
    earlier, later = sum(counts[:half]), sum(counts[len(counts) - half :])
    growth = (later + 1) / (earlier + 1) - 1
    rising = growth >= rising_growth and _binomial_tail(later, earlier + later) < RISING_P
    split = change_point(counts)
    return {
        "growth": round(growth, 2),
        "rising": rising,
        "change_point": days[split].isoformat() if split is not None else None,
    }
