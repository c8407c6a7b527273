"""Settings sized from the environment when the user leaves them unset.

`island-node --env LunarLander-v3` with no other option must solve it (issue 16),
so the network follows the environment's sizes instead of one fixed shape: one
tanh hidden layer whose width is the power of two at or above observations +
actions, at least 16 (CartPole-v1, Acrobot-v1, LunarLander-v3: 16, the shape of
the README's earlier LunarLander recipe, 8-16-4; BipedalWalker-v3: 32). One
layer: a second doubled the genome (226 -> 498 numbers on LunarLander), and
CMA-ES learns a covariance whose size grows with the square of that.
"""

from __future__ import annotations

from envs import EnvInfo
from island.config import NodeConfig

MIN_HIDDEN = 16


def hidden_for(info: EnvInfo) -> list[int]:
    """Hidden layer widths for an environment (see the module docstring)."""
    width = MIN_HIDDEN
    while width < info.obs_dim + info.act_dim:
        width *= 2
    return [width]


def resolve_sizes(config: NodeConfig, info: EnvInfo) -> None:
    """Fill the sizes the config leaves unset, so `config.toml` records what ran."""
    if config.evaluation.hidden is None:
        config.evaluation.hidden = hidden_for(info)
