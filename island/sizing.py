"""Settings sized from the environment when the user leaves them unset.

`island-node --env LunarLander-v3` with no other option must solve it (issue 16),
so the network follows the environment's sizes instead of one fixed shape:

- fewer than 8 observations (CartPole-v1, Acrobot-v1): two layers of 16, as
  before. On CartPole one layer of 16 was much slower (seed 3: a training best
  of 226 after 7,000 evaluations, against 309 after 1,300 with two layers).
- otherwise one tanh layer whose width is the power of two at or above
  observations + actions, at least 16 (LunarLander-v3: 8-16-4, the shape of the
  README's earlier recipe; BipedalWalker-v3: 24-32-4). One layer: a second of
  16 more than doubles a LunarLander genome (226 -> 498 numbers), and the
  covariance CMA-ES learns grows with the square of that.
"""

from __future__ import annotations

from envs import EnvInfo
from island.config import NodeConfig

MIN_HIDDEN = 16
SMALL_OBSERVATIONS = 8  # below this, the two layers of 16 measured best


def hidden_for(info: EnvInfo) -> list[int]:
    """Hidden layer widths for an environment (see the module docstring)."""
    if info.obs_dim < SMALL_OBSERVATIONS:
        return [MIN_HIDDEN, MIN_HIDDEN]
    width = MIN_HIDDEN
    while width < info.obs_dim + info.act_dim:
        width *= 2
    return [width]


def resolve_sizes(config: NodeConfig, info: EnvInfo) -> None:
    """Fill the sizes the config leaves unset, so `config.toml` records what ran."""
    if config.evaluation.hidden is None:
        config.evaluation.hidden = hidden_for(info)
