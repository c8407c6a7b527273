"""One CMA-ES island over genome vectors (pycma ask / inject / tell), maximising fitness.

Migrants enter only through `inject`, before `ask` (island/arrivals.py caps and
places them); they come back out of `ask` and are scored by this island like any
other sample. When its progress stalls (island/stagnation.py)
the island starts a fresh strategy around the distribution mean with the
initial sigma and a doubled population (IPOP, Auger & Hansen 2005). The mean,
not the best sample: the best of thousands of noisy scores is the luckiest, not
the best.

It also restarts once its step size has collapsed below COLLAPSED of the initial
one. With noisy scores a converged strategy's smoothed median still sets a new
best now and then, so `stagnation` may never fire, and pycma's own `tolx` (1e-11)
is far below where a noisy search stops moving: a CartPole-v1 run with the
defaults (seed 6) converged on a policy of about 150 by generation 120 (sigma 0.5
-> 0.09) and sat there, sigma 0.004 by generation 500, for 36,000 evaluations.
No LunarLander run measured ever went below 0.5 of its initial sigma.
"""

from __future__ import annotations

import copy
import pickle
from dataclasses import dataclass, field, fields
from typing import Any

import cma
import numpy as np

from island.arrivals import Arrivals, clip_to_pycma_bounds
from island.stagnation import Stagnation

COLLAPSED = 0.1  # a step size below this share of the initial one has stopped searching


@dataclass
class Elite:
    """A genome and the fitness this island measured for it."""

    x: np.ndarray
    fitness: float
    generation: int


@dataclass
class BestEver:
    """The best genome an island has told, and its last generation ranked best first.

    Migrants and the champion's candidates come from here, not from the distribution mean.
    """

    x: np.ndarray
    fitness: float = -np.inf
    generation: int = -1
    elites: list[Elite] = field(default_factory=list)

    def observe(self, X: np.ndarray, fitness: np.ndarray, generation: int) -> bool:
        """Rank a told generation; True when its best beats every earlier one."""
        order = np.argsort(-fitness)
        self.elites = [Elite(X[i].copy(), float(fitness[i]), generation) for i in order]
        if not fitness[order[0]] > self.fitness:
            return False
        self.x, self.fitness = X[order[0]].copy(), float(fitness[order[0]])
        self.generation = generation
        return True


@dataclass
class Population:
    """What `ask` hands out: the rows to score, and which rows are injected genomes.

    `injected` maps the id `inject` returned to the row of X that genome came out as:
    pycma puts injected solutions right after its own injected directions, in order, so
    no search by value is needed.
    """

    X: np.ndarray
    injected: dict[int, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.X)


NUMERICAL_FAILURES = (
    ArithmeticError, AssertionError, ValueError, RecursionError, np.linalg.LinAlgError,
)  # what pycma raises when its covariance breaks down (seen: AssertionError, RecursionError)


def pycma_options(popsize: int, seed: int, diagonal: bool, mirrored: bool, mean_rate: float,
                  bounds: tuple[list[float | None], list[float | None]] | None
                  ) -> dict[str, Any]:
    """The options of an island's pycma strategy (and of each restart's new one)."""
    options: dict[str, Any] = {
        "popsize": popsize, "seed": seed, "verbose": -9,
        "CMA_diagonal": diagonal,  # sep-CMA-ES: linear cost per sample in the dimension
        "tolflatfitness": 10**9,  # plateaus (e.g. CartPole's capped return) are not a stop
        "maxiter": np.inf,
    }
    if mirrored:
        # Unconditional mirrored pairs (Brockhoff et al. 2010): the two of a pair share
        # their episode seed, so their difference is free of the episode's luck.
        options |= {"CMA_mirrors": popsize // 2, "CMA_mirrormethod": 0}
    if mean_rate != 1.0:
        # A mean that moves a share of the way to the selected recombination damps
        # selection noise like a larger population, at the same cost per generation
        # (Miyazawa & Akimoto 2017; Nomura et al. 2023's learning-rate adaptation).
        options["CMA_cmean"] = mean_rate
    if bounds is not None:
        options["bounds"] = [list(bounds[0]), list(bounds[1])]
    return options


Bounds = tuple[list[float | None], list[float | None]]  # per coordinate; None: unbounded


@dataclass
class IslandState:
    """Everything an island remembers: what it was made with, its counters, its best-ever
    genome and elites, its progress record, and pycma's strategy (island/state.py
    checkpoints it through island/plain.py; an `Island` holds these fields as its own).

    pycma's strategy is the one opaque part, as `es.pickle_dumps()` bytes: pycma
    documents pickling as the way to save and resume a strategy, and its internals
    (covariance, paths, adaptation state, evolving across pycma versions) cannot be
    rebuilt from public fields.
    """

    x0: np.ndarray
    sigma0: float
    seed: int
    diagonal: bool  # sep-CMA-ES
    restarts_enabled: bool
    max_popsize: int
    base_popsize: int
    max_injected: int  # 0: a quarter of the population (island/arrivals.py)
    bounds: Bounds | None  # pycma's BoundTransform
    mirrored: bool
    mean_rate: float
    best: BestEver
    progress: Stagnation
    generation: int = 0
    restarts: int = 0
    numerical_resets: int = 0  # strategies rebuilt after pycma's numerics broke down
    last_failure: str = ""
    cma: bytes = b""


class Island:
    """CMA-ES with a best-ever record, elites, capped injection and IPOP restarts.

    Its attributes are the fields of `IslandState` (`x0`, `generation`, `best`, ...), taken
    by `_adopt`, and pycma's live strategy `es`."""

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
        mirrored: bool = False,
        mean_rate: float = 1.0,
    ):
        x0 = np.asarray(x0, dtype=float).copy()
        self._adopt(IslandState(
            x0, sigma, seed, len(x0) > sep_above, restarts, max_popsize,
            popsize or 4 + int(3 * np.log(len(x0))), max_injected, bounds, mirrored,
            mean_rate, BestEver(x0.copy()), Stagnation(stagnation)))
        self.es = self._new_strategy(self.x0, self.base_popsize)

    def _adopt(self, state: IslandState) -> None:
        """Take the fields of `state` as this island's own (all but pycma's strategy)."""
        for name in REMEMBERED:
            setattr(self, name, getattr(state, name))
        self.dim = len(self.x0)
        self.arrivals = Arrivals(self.max_injected)
        self.last_restart = ""  # why the last restart happened (for the log, not kept)
        self._untold: bytes | None = None  # the strategy before an ask not yet told

    def state(self) -> IslandState:
        """Everything this island remembers, copied; an abandoned ask is undone."""
        remembered = copy.deepcopy({name: getattr(self, name) for name in REMEMBERED})
        return IslandState(**remembered, cma=self._untold or self.es.pickle_dumps())

    @classmethod
    def from_state(cls, state: IslandState) -> Island:
        """The island `state()` described, going on where it stopped."""
        island = cls.__new__(cls)
        island._adopt(copy.deepcopy(state))
        island.es = pickle.loads(state.cma)  # our own checkpoint file, checksummed
        return island

    def _new_strategy(self, mean: np.ndarray, popsize: int) -> cma.CMAEvolutionStrategy:
        seed = int(self.seed + 1000 * self.restarts) % (2**31 - 1) or 1
        options = pycma_options(popsize, seed, self.diagonal, self.mirrored, self.mean_rate,
                                self.bounds)
        return cma.CMAEvolutionStrategy(self._inside_bounds(mean), self.sigma0, options)

    def _inside_bounds(self, x: np.ndarray) -> np.ndarray:
        """`x` inside the search bounds, a non-finite entry replaced by the initial mean's.
        pycma refuses a start outside them (NaN included): a CartPole island's restart around
        its mean raised there once and ended its node (CI, 2026-12-08), so whatever the mean
        holds, a restart starts."""
        x = np.where(np.isfinite(x), x, self.x0).astype(float)
        return x if self.bounds is None else clip_to_pycma_bounds(x, self.bounds)

    def set_mean_rate(self, rate: float) -> None:
        """From the next generation on, the mean moves `rate` of the way (pycma's cmean)."""
        if rate != self.mean_rate:
            self.mean_rate = rate
            self.es.sp.cmean = rate

    @property
    def popsize(self) -> int:
        return self.es.popsize

    @property
    def sigma(self) -> float:
        return float(self.es.sigma)

    @property
    def collapsed(self) -> bool:
        """The step size has shrunk below COLLAPSED of the initial one."""
        return self.sigma < COLLAPSED * self.sigma0

    @property
    def mean(self) -> np.ndarray:
        """The distribution mean as a genome (pycma's mean is a genotype under bounds)."""
        return np.asarray(self.es.result.xfavorite, dtype=float)

    def inject(self, solutions: list[np.ndarray]) -> list[int]:
        """Queue external genomes for the next `ask`; returns the ids of those taken (capped).

        `ask` hands each id back with the row its genome comes out as.
        """
        return self.arrivals.queue(self.es, solutions, self.dim, self.bounds)

    def ask(self) -> Population:
        """The next population; injected genomes come early, in the order injected."""
        pending = self.arrivals.take()
        # pycma cannot ask twice without a tell (its TPA step-size samples are consumed), so
        # a generation abandoned after `ask` must be saved as the strategy before it:
        # about 10 ms for a 420-dimensional genome, against 110 ms for its ask and tell.
        self._untold = self.es.pickle_dumps()
        # pycma's own injected directions (TPA's mean-shift pair) come before forced solutions.
        first = len(self.es.pop_injection_directions)
        try:
            return Population(np.asarray(self.es.ask()),
                              {i: first + k for k, i in enumerate(pending)})
        except NUMERICAL_FAILURES as exc:
            self._reset_after(exc)  # the new strategy has no injections: nobody's row
            self._untold = self.es.pickle_dumps()
            return Population(np.asarray(self.es.ask()))

    def tell(self, X: np.ndarray, fitness: np.ndarray) -> bool:
        """Report fitness (higher is better) for the rows of `ask`; True when the best improved."""
        fitness = np.asarray(fitness, dtype=float)
        self._untold = None
        try:
            self.es.tell(list(X), list(-fitness))  # pycma minimises
        except NUMERICAL_FAILURES as exc:
            self._reset_after(exc)
        self.generation += 1
        improved = self.best.observe(X, fitness, self.generation)
        self.progress.observe(fitness)
        reason = self._restart_reason() if self.restarts_enabled else None
        if reason:
            self.restart()
            self.last_restart = reason
        return improved

    def _restart_reason(self) -> str | None:
        """Why the strategy should restart now (None: it should not), for the node's log."""
        if self.progress.stalled:
            return f"no better generation median in {self.progress.patience} generations"
        if self.collapsed:
            return "its step size collapsed"
        stop = self.es.stop() if self.progress.settled else {}
        return f"pycma's {', '.join(stop)}" if stop else None

    def elites(self, k: int) -> list[Elite]:
        """The `k` best of the last generation, best first."""
        return self.best.elites[:k]

    def _reset_after(self, exc: BaseException) -> None:
        """A strategy whose covariance broke down starts afresh around the best genome.

        pycma asserts on a non-finite eigendecomposition; an island must outlive
        that (one took down a node of a 32-minute run), so the failure is counted
        and kept for the node to log, and the search goes on.
        """
        self.numerical_resets += 1
        self.last_failure = f"{type(exc).__name__}: {exc}".strip(": ")
        self.es = self._new_strategy(self.best.x, self.popsize)
        self.arrivals.clear()
        self.progress.reset()

    def shrink_step(self, factor: float) -> None:
        """Multiply the step size by `factor`; mean, covariance and paths stay. CSA cannot
        shrink it under one-episode ranking noise (selection looks random to it), so a run
        that knows it has reached its target's region narrows the search itself."""
        self.es.sigma *= factor

    def resize(self, popsize: int) -> None:
        """Go on with `popsize` samples a generation from the same distribution: mean, step
        size, covariance and diagonal scaling (pycma's `_copy_light`). Its evolution paths
        start at zero, so CSA shrinks the step size for a while (LunarLander: 0.17 to 0.14
        in 20 generations); keeping the paths solved more tuning seeds but did not lower
        the median on the report block (benchmarks/lunar-search-2026-12-07c/)."""
        seed = int(self.seed + 1000 * self.restarts + 500) % (2**31 - 1) or 1
        options = pycma_options(popsize, seed, self.diagonal, self.mirrored, self.mean_rate,
                                self.bounds)
        self.es = self.es._copy_light(inopts=options)
        self.arrivals.clear()

    def restart(self, around: np.ndarray | None = None) -> None:
        """IPOP: a fresh strategy around the distribution mean (or `around`, such as the
        initial mean `x0`), initial sigma, doubled population (capped at max_popsize)."""
        self.restarts += 1
        popsize = min(self.popsize * 2, max(self.max_popsize, self.base_popsize))
        self.es = self._new_strategy(self.mean if around is None else around, popsize)
        self.progress.reset()


REMEMBERED = [f.name for f in fields(IslandState) if f.name != "cma"]
