"""Scores a population: chunks of genomes run in worker processes, each with its own environments.

Workers are started with `spawn` (envs/pool.py), never plain `fork`, so a
node may create its pool after ZeroMQ threads exist. Each worker builds its
environments once and reuses them for every generation; per generation only
the genome chunk goes in and its fitness comes back.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from envs.episodes import LIFETIME_FITNESS, lifetime_fitness, run_lifetimes
from envs.network import PlasticNetwork
from envs.pool import Aborted, WorkerPool
from envs.random_policy import RandomPolicy, random_policy
from envs.simulators import SIMULATORS, choose_simulator, make_batch, stepping_threads
from envs.spaces import EnvInfo, env_info
from genome.layout import W_MAX
from genome.spec import GenomeSpec


@dataclass(frozen=True)
class EvalSettings:
    """Everything that decides a genome's fitness besides the genome and the seeds."""

    env_id: str
    spec: GenomeSpec
    max_steps: int | None = None
    lifetime_fitness: str = "last_half"  # how a lifetime's episode returns make one score
    w_max: float = W_MAX
    normalise_obs: bool = False  # inputs standardised by a random policy's statistics
    # what steps the episodes (envs/simulators.py): "envpool" | "gymnasium"; unset: envpool
    # where it provides the environment, gymnasium elsewhere
    simulator: str | None = None
    lifetime: int = 1  # episodes per lifetime: the network keeps what it learned across them

    def __post_init__(self) -> None:
        if self.lifetime < 1:
            raise ValueError(f"a lifetime is at least 1 episode, not {self.lifetime}")
        if self.lifetime_fitness not in LIFETIME_FITNESS:
            raise ValueError(f"unknown lifetime fitness {self.lifetime_fitness!r}; "
                             f"known: {', '.join(LIFETIME_FITNESS)}")
        if self.simulator is not None and self.simulator not in SIMULATORS:
            raise ValueError(f"unknown simulator {self.simulator!r}; "
                             f"known: {', '.join(SIMULATORS)}")

    @property
    def simulated_in(self) -> str:
        """The simulator these settings run in (`simulator`, or the default for the id)."""
        return choose_simulator([self.env_id], self.simulator)

    def judged_in(self, simulator: str = "gymnasium") -> EvalSettings:
        """The same settings in another simulator (held-out scores: gymnasium, the judge)."""
        return dataclasses.replace(self, simulator=simulator)


def tighter_cap(max_steps: int | None, cap: int | None) -> int | None:
    """The episode cap in force: the settings' own, or a call's `cap` where that is tighter."""
    if cap is None:
        return max_steps
    return cap if max_steps is None else min(max_steps, cap)


def input_scale(settings: EvalSettings) -> RandomPolicy | None:
    """The statistics a network standardises its inputs by, when its settings ask for it."""
    return random_policy(settings.env_id) if settings.normalise_obs else None


@dataclass(frozen=True)
class Evaluation:
    """What `evaluate` measured for a population of P genomes.

    `lifetimes` (P, lifetimes) is the score of every lifetime and `fitness` (P,) what CMA-ES
    ranks: their mean (over several environments, envs/multi.py says how they combine).
    `env_scores` is each environment's part of the fitness, by id (several environments
    only), and `episodes` how many episodes were played, in every environment.
    """

    fitness: np.ndarray
    lifetimes: np.ndarray
    episodes: int
    env_scores: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)


def lifetime_seeds(seeds: Sequence[int] | np.ndarray, P: int, lifetime: int = 1) -> np.ndarray:
    """Episode seeds as (P, lifetimes, K): from a flat list, `lifetime` (K) at a time;
    (lifetimes, K) shared by every genome (a caller that plays lifetimes of another length
    than its settings', such as a held-out score asked for on the command line); or
    (P, lifetimes, K) per genome."""
    seeds = np.asarray(seeds, dtype=np.int64)
    if seeds.ndim == 1:
        if len(seeds) % lifetime:
            raise ValueError(f"{len(seeds)} episode seeds are not lifetimes of {lifetime}")
        seeds = seeds.reshape(-1, lifetime)
    if seeds.ndim == 2:
        return np.broadcast_to(seeds, (P, *seeds.shape))
    if seeds.ndim == 3 and len(seeds) == P:
        return seeds
    raise ValueError(f"seeds of shape {seeds.shape} do not fit {P} genomes")


JOBS_PER_WORKER = 4  # gymnasium; envpool: 1, a worker's whole share through one pool


def split_work(P: int, L: int, jobs: int,
               by_lifetime: bool = True) -> list[tuple[np.ndarray, np.ndarray]]:
    """(rows, lifetimes) index pairs that together cover a (P, L) evaluation once, about `jobs`
    of them: chunks of genomes with all their lifetimes while there are enough genomes,
    and (`by_lifetime`) each genome's lifetimes split when there are fewer. A champion's
    confirmation is one genome and 50 lifetimes: as one job it kept one worker busy and
    left the other idle (BipedalWalker seeds 26-28 on 2 cores: 61-73% of both in use
    during those generations, against 93-94% in plain ones). Lifetimes are independent,
    so any split scores the same; it costs only the narrower lockstep batches."""
    if P == 0:
        return []
    if P >= jobs or not by_lifetime:
        return [(rows, np.arange(L)) for rows in np.array_split(np.arange(P), min(P, jobs))]
    per_row = min(L, -(-jobs // P))
    return [(np.array([row]), lifetimes) for row in range(P)
            for lifetimes in np.array_split(np.arange(L), per_row)]


class LocalEvaluator:
    """Evaluates in this process, reusing its simulator (its environments, or its
    envpool pool, stepped by `threads`) across calls."""

    def __init__(self, settings: EvalSettings, threads: int = 1):
        self.settings = settings
        self.info: EnvInfo = env_info(settings.env_id)
        self.sim = make_batch(settings.env_id, settings.simulated_in, threads)
        self._cpu_reported = 0.0  # this process's CPU seconds already accounted for

    def cpu_since_report(self) -> float:
        """CPU seconds of this process since the last call; the first call counts from the
        process's start, so a worker's imports and set-up are paid for too."""
        now = time.process_time()
        spent, self._cpu_reported = now - self._cpu_reported, now
        return spent

    def episode_returns(
        self, X: np.ndarray, seeds: np.ndarray, floor: float | None = None,
        cap: int | None = None,
    ) -> tuple[np.ndarray, int]:
        """Return of every episode, (P, lifetimes, K), and the env steps taken.

        `seeds` as `lifetime_seeds` reads them. All P x lifetimes lifetimes run as
        one lockstep batch: fuller batches, and no genome waits for its own
        lifetimes one after another. `floor`: a step's reward below it counts as it;
        `cap`: episodes end after this many steps (where tighter than the settings' own).
        """
        P = len(X)
        seeds = lifetime_seeds(seeds, P, self.settings.lifetime)
        L, K = seeds.shape[1:]
        network = PlasticNetwork(self.settings.spec, self.info, np.repeat(X, L, axis=0),
                                 w_max=self.settings.w_max, inputs=input_scale(self.settings))
        returns, steps = run_lifetimes(self.sim, network,
                                       seeds.reshape(P * L, K),
                                       tighter_cap(self.settings.max_steps, cap), floor)
        return returns.reshape(P, L, K), steps

    def close(self) -> None:
        self.sim.close()


class EvaluationAborted(RuntimeError):
    """The node asked to stop while a generation was being scored."""


def _start_worker(setup: tuple[EvalSettings, int]) -> LocalEvaluator:
    return LocalEvaluator(*setup)


def _evaluate_chunk(
    worker: LocalEvaluator, job: tuple[np.ndarray, np.ndarray, float | None, int | None]
) -> tuple[np.ndarray, int, float]:
    """Episode returns of a chunk of genomes, env steps, and the CPU seconds this worker spent
    since its last chunk (its start, for the first)."""
    returns, steps = worker.episode_returns(*job)
    return returns, steps, worker.cpu_since_report()


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Evaluator:
    """`evaluate(X, seeds) -> Evaluation`: the population split over `workers` processes.

    A genome's fitness is the mean over its lifetimes of `lifetime_fitness` of
    each lifetime's episode returns; `episode_returns` gives the returns themselves.

    `workers`: None starts one process per core, 0 evaluates in this process (tests, tiny
    runs), n starts n processes; the node's `workers` option means the same.
    `split_lifetimes`: with several workers, a few genomes' lifetimes are shared out
    among them (`split_work`); off only to measure what that buys (benchmarks/cores.py).
    `threaded`: for Box2D and MuJoCo in envpool (`envs.simulators.stepping_threads`), one
    worker process whose pool steps on a thread per worker instead. Off for the node: on a
    quiet machine it was slower (LunarLander at the node's sizes, 0.63-0.70 x cores
    against 0.74-0.84 for processes, the same CPU per step) because the network then runs
    in one thread; kept to measure it (benchmarks/cores.py --compare-threads).
    `abort` is polled while workers run; when it turns true the evaluator is closed and
    EvaluationAborted is raised, so a node can shut down promptly.
    """

    def __init__(self, settings: EvalSettings, workers: int | None = None,
                 split_lifetimes: bool = True, abort: Callable[[], bool] | None = None,
                 threaded: bool = False):
        self.settings = settings
        self.abort = abort
        self.workers = default_workers() if workers is None else workers
        self.split_lifetimes = split_lifetimes and self.workers > 1
        self.steps = 0  # environment steps taken so far, for throughput figures
        self.worker_cpu = 0.0  # CPU seconds of the worker processes, start-up included
        self._local: LocalEvaluator | None = None
        self._pool = None
        self._simulator = settings.simulated_in
        # threads stepping one worker's pool; then that one worker scores the whole call
        self.threads = stepping_threads(settings.env_id, self._simulator,
                                        self.workers) if threaded else 1
        if self.workers == 0:
            self._local = LocalEvaluator(settings)
            self.info = self._local.info
        else:
            self.info = env_info(settings.env_id)  # fail here, with the id, not in a worker
            self._start_pool()

    @property
    def env_ids(self) -> list[str]:
        """The environments a genome plays in: this one."""
        return [self.settings.env_id]

    def evaluate(
        self,
        X: np.ndarray,
        seeds: Sequence[int] | np.ndarray,
        floor: float | None = None,
        cap: int | None = None,
    ) -> Evaluation:
        """Each row of X scored on its lifetimes (seeds as `lifetime_seeds` reads them).

        `floor` counts a step's reward below it as it (training fitness under the node's
        `train_reward_floor`; every reported score uses the true rewards, None); `cap`
        ends episodes after that many steps (training episodes under `train_max_steps`;
        every reported score plays them to the settings' own end, None)."""
        returns = self.episode_returns(X, seeds, floor, cap)
        lifetimes = lifetime_fitness(returns, self.settings.lifetime_fitness)
        return Evaluation(lifetimes.mean(axis=1), lifetimes, returns.size)

    def episode_returns(
        self,
        X: np.ndarray,
        seeds: Sequence[int] | np.ndarray,
        floor: float | None = None,
        cap: int | None = None,
    ) -> np.ndarray:
        """Return of every episode of every lifetime of each row of X, (P, lifetimes, K)."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        seeds = lifetime_seeds(seeds, len(X), self.settings.lifetime)
        if self._local is not None:
            returns, steps = self._local.episode_returns(X, seeds, floor, cap)
        else:
            # gymnasium: several jobs per worker, so one that finishes early takes the next
            # instead of idling while the other runs its longest episode (split_work says
            # how). envpool: one, since a step's fixed cost (~30 us a call) is paid per batch.
            per_worker = 1 if self._simulator == "envpool" else JOBS_PER_WORKER
            parts = split_work(len(X), seeds.shape[1], self._processes * per_worker,
                               self.split_lifetimes)
            jobs = [(X[rows], seeds[np.ix_(rows, lifetimes)], floor, cap)
                    for rows, lifetimes in parts]
            try:
                results = self._pool.map(jobs, self.abort)
            except Aborted:
                self.close()
                raise EvaluationAborted("evaluation abandoned on request") from None
            returns = np.empty(seeds.shape, dtype=float)
            for (rows, lifetimes), (part, _, _) in zip(parts, results, strict=True):
                returns[np.ix_(rows, lifetimes)] = part
            steps = sum(n for _, n, _ in results)
            self.worker_cpu += sum(cpu for _, _, cpu in results)
        self.steps += steps
        return returns

    @property
    def _processes(self) -> int:
        return 1 if self.threads > 1 else self.workers

    def _start_pool(self) -> None:
        self._pool = WorkerPool(self._processes, _start_worker, _evaluate_chunk,
                                (self.settings, self.threads))

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the workers (none when evaluating in this process)."""
        return self._pool.pids if self._pool is not None else []

    def close(self) -> None:
        """Stop the workers (within seconds, whatever they are doing); safe to call twice."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._local is not None:
            self._local.close()
            self._local = None

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
