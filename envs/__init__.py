"""Where a genome is scored: plastic networks acting in gymnasium environments."""

from envs.episodes import HELD_OUT_SEED_BASE, run_lifetimes
from envs.evaluator import (
    EvalSettings,
    EvaluationAborted,
    Evaluator,
    LocalEvaluator,
    default_workers,
)
from envs.held_out import held_out_returns, held_out_seeds
from envs.network import PlasticNetwork
from envs.spaces import EnvInfo, UnknownEnvironmentError, describe, env_info, make_env

__all__ = [
    "HELD_OUT_SEED_BASE",
    "EvaluationAborted",
    "EnvInfo",
    "EvalSettings",
    "Evaluator",
    "LocalEvaluator",
    "PlasticNetwork",
    "UnknownEnvironmentError",
    "default_workers",
    "describe",
    "held_out_returns",
    "held_out_seeds",
    "env_info",
    "make_env",
    "run_lifetimes",
]
