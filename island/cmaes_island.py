"""One CMA-ES island over genome vectors (pycma ask / inject / tell), maximising fitness.

Migrants enter only through `inject`, before `ask`, with `force=True` so they
keep their exact location; they come back out of `ask` and are scored by this
island like any other sample. pycma's IPOP/BIPOP restarts live only in `fmin`,
so an ask/tell island restarts itself: on a pycma stop condition or after
`stagnation` generations without a new best generation median (episode returns
are noisy: one lucky sample must not count as progress, nor block it), it
starts a fresh strategy around
the best genome with the initial sigma and a doubled population (IPOP, Auger &
Hansen 2005).
"""

from __future__ import annotations

from dataclasses import dataclass

import cma
import numpy as np


@dataclass
class Elite:
    """A genome and the fitness this island measured for it."""

    x: np.ndarray
    fitness: float
    generation: int


NUMERICAL_FAILURES = (
    ArithmeticError, AssertionError, ValueError, RecursionError, np.linalg.LinAlgError,
)  # what pycma raises when its covariance breaks down (seen: AssertionError, RecursionError)


class Island:
    """CMA-ES with a best-ever record, elites, capped injection and IPOP restarts."""

    def __init__(
        self,
        x0: np.ndarray,
        sigma: float,
        popsize: int = 0,
        seed: int = 1,
        sep_above: int = 2000,
        restarts: bool = True,
        stagnation: int = 60,
        max_popsize: int = 512,
        max_injected: int = 0,
        bounds: tuple[list[float | None], list[float | None]] | None = None,
    ):
        self.x0 = np.asarray(x0, dtype=float).copy()
        self.dim = len(self.x0)
        self.sigma0 = sigma
        self.seed = seed
        self.diagonal = self.dim > sep_above
        self.restarts_enabled = restarts
        self.stagnation = stagnation
        self.max_popsize = max_popsize
        default_popsize = 4 + int(3 * np.log(self.dim))
        self.base_popsize = popsize or default_popsize
        self._max_injected = max_injected
        self.bounds = bounds  # per coordinate, None for unbounded; pycma's BoundTransform
        self.generation = 0
        self.evaluations = 0  # genomes scored (times episodes per genome, see the node)
        self.restarts = 0
        self.numerical_resets = 0  # strategies rebuilt after pycma's numerics broke down
        self.last_failure = ""
        self.best_x: np.ndarray = self.x0.copy()
        self.best_fitness = -np.inf
        self.best_generation = -1
        self.last_elites: list[Elite] = []
        self._since_improvement = 0
        self._best_median = -np.inf
        self._since_restart = 0
        self._pending = 0
        self.es = self._new_strategy(self.x0, self.base_popsize)

    def _new_strategy(self, mean: np.ndarray, popsize: int) -> cma.CMAEvolutionStrategy:
        options = {
            "popsize": popsize,
            "seed": int(self.seed + 1000 * self.restarts) % (2**31 - 1) or 1,
            "verbose": -9,
            "CMA_diagonal": self.diagonal,  # sep-CMA-ES: linear cost per sample in the dimension
            "tolflatfitness": 10**9,  # plateaus (e.g. CartPole's capped return) are not a stop
            "maxiter": np.inf,
        }
        bounds = getattr(self, "bounds", None)  # islands checkpointed before bounds had none
        if bounds is not None:
            options["bounds"] = [list(bounds[0]), list(bounds[1])]
        return cma.CMAEvolutionStrategy(mean, self.sigma0, options)

    @property
    def popsize(self) -> int:
        return self.es.popsize

    @property
    def sigma(self) -> float:
        return float(self.es.sigma)

    @property
    def mean(self) -> np.ndarray:
        """The distribution mean as a genome (pycma's mean is a genotype under bounds)."""
        return np.asarray(self.es.result.xfavorite, dtype=float)

    @property
    def max_injected(self) -> int:
        """Never let migrants fill the population: leave at least 3/4 independent samples."""
        cap = self._max_injected or self.popsize // 4
        return max(0, min(cap, self.popsize // 2))

    def inject(self, solutions: list[np.ndarray]) -> int:
        """Queue external genomes for the next `ask`; returns how many were taken (capped)."""
        room = self.max_injected - self._pending
        taken = [np.asarray(s, dtype=float) for s in solutions[: max(0, room)]]
        taken = [s for s in taken if s.shape == (self.dim,) and np.all(np.isfinite(s))]
        if taken:
            bounds = getattr(self, "bounds", None)
            if bounds is not None:
                # pycma injects genotypes; with bounds, the phenotype a migrant is must be
                # mapped back (from inside the bounds), or a genome near a bound comes out
                # of `ask` squeezed inwards.
                low = np.array([-np.inf if b is None else b for b in bounds[0]])
                high = np.array([np.inf if b is None else b for b in bounds[1]])
                taken = [np.asarray(self.es.boundary_handler.inverse(np.clip(s, low, high)))
                         for s in taken]
            self.es.inject(taken, force=True)
            self._pending += len(taken)
        return len(taken)

    def ask(self) -> np.ndarray:
        """The next population (P, dim); injected genomes come first."""
        self._pending = 0
        try:
            return np.asarray(self.es.ask())
        except NUMERICAL_FAILURES as exc:
            self._reset_after(exc)
            return np.asarray(self.es.ask())

    def tell(self, X: np.ndarray, fitness: np.ndarray) -> bool:
        """Report fitness (higher is better) for the rows of `ask`; True when the best improved."""
        fitness = np.asarray(fitness, dtype=float)
        try:
            self.es.tell(list(X), list(-fitness))  # pycma minimises
        except NUMERICAL_FAILURES as exc:
            self._reset_after(exc)
        self.generation += 1
        self.evaluations += len(X)
        order = np.argsort(-fitness)
        self.last_elites = [Elite(X[i].copy(), float(fitness[i]), self.generation)
                            for i in order]
        improved = fitness[order[0]] > self.best_fitness
        if improved:
            self.best_fitness = float(fitness[order[0]])
            self.best_x = X[order[0]].copy()
            self.best_generation = self.generation
        median = float(np.median(fitness))
        if median > self._best_median:
            self._best_median = median
            self._since_improvement = 0
        else:
            self._since_improvement += 1
        self._since_restart += 1
        # pycma's stop tests (tolfun, ...) fire at once on a flat start; let a strategy run first.
        settled = self._since_restart >= self.stagnation
        if self.restarts_enabled and (
            self._since_improvement >= self.stagnation or (settled and self.es.stop())
        ):
            self._restart()
        return bool(improved)

    def elites(self, k: int) -> list[Elite]:
        """The `k` best of the last generation, best first."""
        return self.last_elites[:k]

    def _reset_after(self, exc: BaseException) -> None:
        """A strategy whose covariance broke down starts afresh around the best genome.

        pycma asserts on a non-finite eigendecomposition; an island must outlive
        that (one took down a node of a 32-minute run), so the failure is counted
        and kept for the node to log, and the search goes on.
        """
        self.numerical_resets = getattr(self, "numerical_resets", 0) + 1
        self.last_failure = f"{type(exc).__name__}: {exc}".strip(": ")
        self.es = self._new_strategy(self.best_x, self.popsize)
        self._pending = 0
        self._since_improvement = 0
        self._since_restart = 0
        self._best_median = -np.inf

    def _restart(self) -> None:
        self.restarts += 1
        popsize = min(self.popsize * 2, max(self.max_popsize, self.base_popsize))
        self.es = self._new_strategy(self.best_x, popsize)
        self._since_improvement = 0
        self._since_restart = 0
        self._best_median = -np.inf
