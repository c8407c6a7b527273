"""Scores a population: chunks of genomes run in worker processes, each with its own environments.

Workers are started with `forkserver` (or `spawn`), never plain `fork`, so a
node may create its pool after ZeroMQ threads exist. Each worker builds its
environments once and reuses them for every generation; per generation only
the genome chunk goes in and its fitness comes back.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from envs.episodes import run_lifetimes
from envs.network import PlasticNetwork
from envs.spaces import EnvInfo, describe, env_info, make_env
from genome.spec import GenomeSpec


@dataclass(frozen=True)
class EvalSettings:
    """Everything that decides a genome's fitness besides the genome and the seeds."""

    env_id: str
    spec: GenomeSpec
    max_steps: int | None = None
    carry_weights: bool = False
    w_max: float = 5.0


JOBS_PER_WORKER = 4


class LocalEvaluator:
    """Evaluates in this process, reusing its environments across calls."""

    def __init__(self, settings: EvalSettings):
        self.settings = settings
        first = make_env(settings.env_id)
        self.info: EnvInfo = describe(first)
        self._envs: list[gym.Env] = [first]

    def _ensure_envs(self, n: int) -> list[gym.Env]:
        while len(self._envs) < n:
            self._envs.append(gym.make(self.settings.env_id))
        return self._envs

    def evaluate(self, X: np.ndarray, seeds: np.ndarray) -> tuple[np.ndarray, int]:
        """(mean return per row, env steps): row i lives one lifetime over the seeds `seeds[i]`.

        All rows run as one batch in lockstep; see run_lifetimes.
        """
        s = self.settings
        network = PlasticNetwork(s.spec, self.info, X, w_max=s.w_max)
        return run_lifetimes(self._ensure_envs(len(X)), network, seeds, s.max_steps,
                             s.carry_weights)

    def close(self) -> None:
        for env in self._envs:
            env.close()
        self._envs.clear()


_worker: LocalEvaluator | None = None


def _init_worker(settings: EvalSettings) -> None:
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the node's to handle, not ours
    _worker = LocalEvaluator(settings)


class EvaluationAborted(RuntimeError):
    """The node asked to stop while a generation was being scored."""


Job = tuple[np.ndarray, np.ndarray, np.ndarray]  # genomes, genome index per lifetime, seeds


def _evaluate_chunk(job: Job) -> tuple[np.ndarray, int, float]:
    """Returns of a job's lifetimes, env steps and the CPU seconds this worker spent on them.

    A job carries each of its genomes once, the genome index of every lifetime
    and the lifetimes' seeds.
    """
    assert _worker is not None, "worker used before its initializer ran"
    genomes, index, seeds = job
    start = time.process_time()
    returns, steps = _worker.evaluate(genomes[index], seeds)
    return returns, steps, time.process_time() - start


def lifetimes_of(
    P: int, seeds: np.ndarray, carry_weights: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(genome index, seeds) of every lifetime an evaluation runs, spread for load balance.

    With `carry_weights` a lifetime is a genome's whole episode sequence.
    Otherwise every episode is its own lifetime, ordered episode by episode, so
    a genome whose episodes all run long does not load one job with all of them.
    """
    seeds = np.broadcast_to(np.asarray(seeds, dtype=np.int64), (P, np.shape(seeds)[-1]))
    if carry_weights or seeds.shape[1] == 1:
        return np.arange(P), seeds
    return np.tile(np.arange(P), seeds.shape[1]), seeds.T.reshape(-1, 1)


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Evaluator:
    """`evaluate(X, seeds) -> fitness`: the population split over `workers` processes.

    `workers=0` evaluates in this process (for tests and tiny runs).
    """

    def __init__(self, settings: EvalSettings, workers: int | None = None):
        self.settings = settings
        self.workers = default_workers() if workers is None else workers
        self.steps = 0  # environment steps taken so far, for throughput figures
        self.worker_cpu = 0.0  # CPU seconds spent in worker processes, for cost figures
        self._local: LocalEvaluator | None = None
        self._pool = None
        if self.workers == 0:
            self._local = LocalEvaluator(settings)
            self.info = self._local.info
        else:
            self.info = env_info(settings.env_id)  # fail here, with the id, not in a worker
            self._start_pool()

    def evaluate(
        self,
        X: np.ndarray,
        seeds: Sequence[int] | np.ndarray,
        abort: Callable[[], bool] | None = None,
    ) -> np.ndarray:
        """Mean return of each row of X over one episode per seed.

        `seeds` (episodes,) are shared by all rows, or (P, episodes) per row.
        `abort` is polled while workers run; when it turns true the evaluator is
        closed and EvaluationAborted is raised, so a node can shut down promptly.
        """
        X = np.atleast_2d(np.asarray(X, dtype=float))
        index, lifetime_seeds = lifetimes_of(len(X), seeds, self.settings.carry_weights)
        if self._local is not None:
            returns, steps = self._local.evaluate(X[index], lifetime_seeds)
        else:
            # Several jobs per worker: a worker that finishes early takes the next job
            # instead of waiting for the other's longest episode.
            n = min(self.workers * JOBS_PER_WORKER, len(index))
            jobs = []
            for part in np.array_split(np.arange(len(index)), n):
                used, local = np.unique(index[part], return_inverse=True)
                jobs.append((X[used], local, lifetime_seeds[part]))
            pending = self._pool.map_async(_evaluate_chunk, jobs, chunksize=1)
            while not pending.ready():
                if abort is not None and abort():
                    self.close()  # workers mid-episode cannot be interrupted cleanly
                    raise EvaluationAborted("evaluation abandoned on request")
                pending.wait(0.1)
            results = pending.get()
            returns = np.concatenate([r for r, _, _ in results])
            steps = sum(n for _, n, _ in results)
            self.worker_cpu += sum(cpu for _, _, cpu in results)
        self.steps += steps
        return np.bincount(index, weights=returns, minlength=len(X)) / np.bincount(
            index, minlength=len(X))

    def _start_pool(self) -> None:
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        ctx = mp.get_context(method)
        self._pool = ctx.Pool(self.workers, initializer=_init_worker, initargs=(self.settings,))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
        if self._local is not None:
            self._local.close()
            self._local = None

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
