"""Where a genome is scored: plastic networks acting in gymnasium environments."""

from envs.episodes import HELD_OUT_SEED_BASE, LIFETIME_FITNESS, lifetime_fitness, run_lifetimes
from envs.evaluator import (
    EvalSettings,
    Evaluation,
    EvaluationAborted,
    Evaluator,
    LocalEvaluator,
    default_workers,
    lifetime_seeds,
)
from envs.held_out import held_out_curves, held_out_seeds
from envs.network import PlasticNetwork
from envs.pool import WorkerDied
from envs.spaces import EnvInfo, UnknownEnvironmentError, describe, env_info, make_env

__all__ = [
    "HELD_OUT_SEED_BASE",
    "LIFETIME_FITNESS",
    "EvaluationAborted",
    "EnvInfo",
    "EvalSettings",
    "Evaluation",
    "Evaluator",
    "LocalEvaluator",
    "PlasticNetwork",
    "UnknownEnvironmentError",
    "WorkerDied",
    "default_workers",
    "lifetime_seeds",
    "describe",
    "held_out_curves",
    "lifetime_fitness",
    "held_out_seeds",
    "env_info",
    "make_env",
    "run_lifetimes",
]
