"""Migrants queued for an island's next `ask`: capped, checked, and placed where pycma wants them.

Migrants enter pycma through `inject(..., force=True)`, so they keep their exact
location and come back out of `ask` to be scored like any other sample. Two
things pycma leaves to its caller live here: a cap, so migrants never fill the
population (at least 3/4 of a generation stays the island's own samples), and,
with bounds, the map from a genome (phenotype) back to pycma's genotype.
"""

from __future__ import annotations

import cma
import numpy as np


class Arrivals:
    """The ids of genomes injected since the last `ask`, and the cap on how many may wait."""

    def __init__(self, max_injected: int = 0) -> None:
        self.max_injected_option = max_injected  # 0: a quarter of the population
        self.pending: list[int] = []
        self.next_id = 0

    def cap(self, popsize: int) -> int:
        """Never let migrants fill the population: leave at least 3/4 independent samples."""
        cap = self.max_injected_option or popsize // 4
        return max(0, min(cap, popsize // 2))

    def queue(self, es: cma.CMAEvolutionStrategy, solutions: list[np.ndarray], dim: int,
              bounds: tuple[list[float | None], list[float | None]] | None) -> list[int]:
        """Inject what fits under the cap into `es`; the ids of the genomes taken."""
        room = self.cap(es.popsize) - len(self.pending)
        taken = [np.asarray(s, dtype=float) for s in solutions[: max(0, room)]]
        taken = [s for s in taken if s.shape == (dim,) and np.all(np.isfinite(s))]
        if taken:
            if bounds is not None:
                # pycma injects genotypes; with bounds, the phenotype a migrant is must be
                # mapped back (from inside the bounds), or a genome near a bound comes out
                # of `ask` squeezed inwards.
                taken = [np.asarray(es.boundary_handler.inverse(clip_to_pycma_bounds(s, bounds)))
                         for s in taken]
            es.inject(taken, force=True)
        ids = list(range(self.next_id, self.next_id + len(taken)))
        self.next_id += len(taken)
        self.pending += ids
        return ids

    def take(self) -> list[int]:
        """The ids waiting for this `ask`, in the order injected; the queue empties."""
        pending, self.pending = self.pending, []
        return pending

    def clear(self) -> None:
        """Forget the queue: a strategy rebuilt from scratch holds none of its injections."""
        self.pending = []


def clip_to_pycma_bounds(x: np.ndarray, bounds: tuple[list[float | None], list[float | None]],
                   ) -> np.ndarray:
    """`x` clipped into pycma's `bounds` (a lower and an upper list, None: unbounded), which
    refuses to map a point outside them back to a genotype."""
    low = np.array([-np.inf if b is None else b for b in bounds[0]])
    high = np.array([np.inf if b is None else b for b in bounds[1]])
    return np.clip(x, low, high)
