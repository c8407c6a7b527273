"""The environments a node trains on: one, or several for one `rules` genome (`evaluation.envs`).

Everything the node needs to know about them is decided here, before anything
runs: a network spec and evaluation settings per environment (an unknown id, or
spaces the network cannot drive, stop the node with one line naming it), the
label its log and status show, the level that counts as solved, and the
evaluator that scores a population on all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from envs import EnvInfo, EvalSettings, Evaluator, UnknownEnvironmentError, env_info
from envs.multi import MultiEnvEvaluator
from envs.simulators import choose_simulator
from genome.spec import GenomeSpec
from island.config import EvaluationConfig


def _info(env_id: str, ev: EvaluationConfig) -> EnvInfo:
    try:
        return env_info(env_id)
    except UnknownEnvironmentError as exc:
        if ev.envs:
            raise UnknownEnvironmentError(f"evaluation.envs: {exc}") from None
        raise


def resolve_simulator(ev: EvaluationConfig) -> str:
    """Fill in `evaluation.simulator` (envpool where it provides every environment), so
    config.toml records which; an explicit envpool for an id it lacks raises, naming it."""
    ev.simulator = choose_simulator(ev.env_ids, ev.simulator)
    return ev.simulator


def primary_info(ev: EvaluationConfig) -> EnvInfo:
    """The first environment's sizes, which unset settings follow (island/sizing.py)."""
    return _info(ev.env_ids[0], ev)


@dataclass(frozen=True)
class TrainingEnvs:
    """One spec and one `EvalSettings` per environment, in the order configured."""

    settings: tuple[EvalSettings, ...]
    across: str = "mean"  # evaluation.envs_fitness: how scores combine over environments

    @classmethod
    def from_config(cls, ev: EvaluationConfig) -> TrainingEnvs:
        """Size a network for each environment; a bad one raises naming it (and the key)."""
        settings = []
        for env_id in ev.env_ids:
            info = _info(env_id, ev)
            spec = GenomeSpec(ev.kind, (info.obs_dim, *ev.hidden, info.act_dim), ev.spec_family)
            settings.append(EvalSettings(env_id, spec, ev.max_steps or None,
                                         ev.lifetime_fitness, ev.w_max, ev.normalise_obs,
                                         ev.simulator, ev.lifetime))
        return cls(tuple(settings), ev.envs_fitness)

    @property
    def ids(self) -> list[str]:
        return [s.env_id for s in self.settings]

    @property
    def several(self) -> bool:
        return len(self.settings) > 1

    @property
    def label(self) -> str:
        """How logs, status and messages name the training set: `CartPole-v1+Acrobot-v1`."""
        return "+".join(self.ids)

    @property
    def primary(self) -> EvalSettings:
        """The first environment: its network is the genome's spec (what migrants carry)."""
        return self.settings[0]

    def reward_threshold(self) -> float | None:
        """The score that counts as solved: the environment's own, or 1 (every one solved)
        when fitness is the mean or the minimum of normalised returns (envs/multi.py)."""
        return 1.0 if self.several else env_info(self.primary.env_id).reward_threshold

    @property
    def simulator(self) -> str:
        """What steps the training episodes (every environment's the same)."""
        return self.primary.simulated_in

    def evaluator(self, workers: int | None, simulator: str | None = None,
                  abort: Callable[[], bool] | None = None) -> Evaluator | MultiEnvEvaluator:
        """An evaluator over every environment (the node's default factory); `simulator`
        replaces the training one (the final held-out score is judged in gymnasium);
        `abort` ends an evaluation early (the node's stop, EvaluationAborted)."""
        settings = [s if simulator is None else s.judged_in(simulator) for s in self.settings]
        if self.several:
            return MultiEnvEvaluator(settings, workers, self.across, abort)
        return Evaluator(settings[0], workers, abort=abort)
