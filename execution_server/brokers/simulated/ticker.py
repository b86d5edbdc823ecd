"""A seeded random walk that moves prices for demos (off unless ticker_interval_seconds is set)."""

from __future__ import annotations

import random
from decimal import Decimal

_CENT = Decimal("0.01")
_BASIS = Decimal(10000)


class RandomWalk:
    """Each step moves a price by a whole number of basis points, rounded to the cent.

    Seeded, so a demo replays the same path; never below one cent.
    """

    def __init__(self, seed: int, max_step_basis_points: int = 20) -> None:
        self._rng = random.Random(f"{seed}:ticker")
        self._max = max_step_basis_points

    def step(self, price: Decimal) -> Decimal:
        basis_points = self._rng.randint(-self._max, self._max)
        moved = (price * (_BASIS + basis_points) / _BASIS).quantize(_CENT)
        return max(moved, _CENT)
