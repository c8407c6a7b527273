"""Settings sized from the environment when the user leaves them unset.

`island-node --env LunarLander-v3` with no other option must solve it (issue 16),
so network, population, step size and episodes per evaluation follow the
environment's sizes (`island-node --help` shows them unset; `config.toml` of a
run records what ran):

- fewer than 8 observations (CartPole-v1, Acrobot-v1): a linear policy (no hidden
  layer) for a genome that carries weights, 3 episodes per evaluation, sigma 0.5,
  CMA-ES's own population (4 + 3 ln(dim)). A newcomer's first run must end within a
  minute (issue 43): with two hidden layers of 16 (the earlier default) CartPole-v1
  seed 14 was still short of a confirmed 475 after 240 s and 44,000 evaluations on 2
  cores, its champions failing confirmation at true means of 450-465; the linear
  policy (17 numbers with the rule instead of 418) solved it in 980 evaluations
  (benchmarks/first-run-2026-12-06/). A `rules` genome keeps the two layers of 16:
  its weights start random, and a rule has no hidden units to shape without them.
  On CartPole one layer of 16 was much slower (seed 3: a training best of 226 after
  7,000 evaluations, against 309 after 1,300 with two).
- 8 or more (LunarLander-v3, BipedalWalker-v3): a linear policy too for a genome
  that carries weights (LunarLander 8-4: 43 numbers with the rule, against 226 with the
  hidden layer of 16 issue 16 chose on tuning seeds 101-104). CMA-ES learns its
  covariance at a rate that falls with the square of the dimension (pycma's c_mu at a
  population of 64: 0.0006 a generation at 226 numbers, 0.016 at 43), so at 226 it
  barely moved in a run of 200-300 generations and the search was an isotropic one. On
  the tuning block 23001-23010 the linear policy left the crash plateau in 2,615
  evaluations against 6,290 and solved 10 of 10 at a median of 5,195 against 11,770; on
  the report block 31001-31010, 10 of 10 at a median of 6,765 evaluations and 33 CPU s
  against 9 of 10, 13,510 and 42 (benchmarks/lunar-search-2026-12-07d/, which also has
  the report block before it, where the variant starting at 32 solved 8 of 10). Its
  step size grows (to 0.2-0.45, where the hidden layer's shrinks to 0.11-0.16) and its
  end game is the longer part of a run. A
  `rules` genome keeps one tanh layer whose width is the power of two at or above
  observations + actions, at least 16 (8-16-4; BipedalWalker 24-32-4): its weights
  start random, and a rule has no hidden units to shape without them. A
  population of 32 (at least CMA-ES's own) with ONE episode per evaluation: the
  same evaluations buy three times the generations, and a generation's samples
  share their episode seed, so they are still ranked on equal terms (at 4,800
  evaluations the champions stood at 113, -57, 197, 42 against -76, -65, -81,
  -12 with 3 episodes). Sigma 0.2: at 0.5 with one episode they stood at -114,
  181, -19, -7 after 4,000-7,000.
- A population of 64 until off the plateau (8 or more observations, when the
  population is sized too): twice the sized population until a champion round scores
  the plateau rescue's level (LunarLander: 12.2), then the sized one, from the same
  mean, step size and covariance (`early_popsize`, island/cmaes_island.py `resize`).
  Population 64 throughout solved 20 of 20 earlier runs and never stuck on the crash
  plateau, but at 1.8 times the evaluations. 64 until off the plateau, on the report
  block 20001-20010 (issue 39, never tuned on): 10 of 10 solved at a median of 10,005
  evaluations and 25 CPU s, against the defaults before it on the same seeds, 9 of 10
  at 11,125 and 37 (tuning blocks: 16001-16010 10 of 10, 8,500, against 9 of 10,
  12,555; 19001-19010 9 of 10, 10,665, against 10 of 10, 20,019;
  benchmarks/lunar-search-2026-12-07b/). It pays on the plateau (a median of 5,240
  evaluations to a first champion at >= 0, against 4,170) and wins back more on the
  climb and the end game. A population given by the user (BipedalWalker's example
  gives 32) is kept from the start, and the plateau rescue stays on for it.
- The mean moves the whole way (`mean_rate` 1). Half the way (0.5, pycma's
  CMA_cmean), meant to damp one-episode ranking noise as a larger population
  does, solved 4 of 4 tuning seeds where the defaults had failed or been
  slowest (6004, 5010, 5004, 6003) but only 9 of 10 on 5001-5010, at a higher
  median (benchmarks/time_to_solve.md): another draw, not a fix.
- The plateau rescue (8 or more observations): a run no champion round of which has
  scored halfway from a random policy's return to the target (LunarLander: 12.2;
  below it the lander still crashes) by 30% of its evaluation cap restarts once from
  the initial mean with a doubled population, a new trajectory. Runs that have left
  the plateau are spared: restarting hovering runs cost the earlier rescues their
  solves. On the fresh blocks 8001-8010 and 9001-9010 it fired on 5 of 20 runs: it
  saved two that fail without it (8002, 9008), lost one that solves without it
  (9004), sped one up and slowed one; 19 of 20 solved against 18 of 20 without it
  (benchmarks/time_to_solve.md). A weak edge, kept because reliability is the goal,
  but off while the early population is sized, which is the plateau's remedy in its
  place: at 64 the rescue's 30% of the cap comes after 140 generations, and on the
  block 18001-18010 it restarted four runs at 128 from the initial mean, which then
  took 22,500-27,900 evaluations or failed (benchmarks/lunar-search-2026-12-07b/).
- Inputs are not scaled unless asked (`--normalise-obs`). LunarLander's leg
  contacts vary 4x less than its velocities, and CMA-ES starts isotropic, but
  standardising them was no better on tuning seeds 5001-5010: faster on three,
  slower on four, two more failures (benchmarks/time_to_solve.md).
- The end game (8 or more observations): once a champion round has scored at
  the stop target, END_GAME_EPISODES lifetimes per evaluation. On seeds
  5001-5010 the first champion at 200 came at a median of 5,360 evaluations and
  the confirmed stop at 12,425: policies whose true means differ by 20-40 were
  ranked on one episode of spread 80-100, so the distribution hovered around a
  true mean of 190-210 while its champions failed confirmation. Two lifetimes were
  tried and not adopted (issue 39, benchmarks/lunar-search-2026-12-07/): on tuning
  seeds 16001-16010 the end game's stretch to the stop was a third shorter, but on the
  report block 17001-17010 the gain all but vanished (26,050 against 26,530 evaluations
  over 7 seeds, median 14,860 against 12,505); pooled, shorter on 10 seeds and longer
  on 4 (sign test p = 0.18), and BipedalWalker, which shares this default, unmeasured.
  On the linear policy, whose end game is the dear part of a run, two lifetimes were
  measured again and adopted: on tuning block 24001-24010, 4,160 evaluations and 18 CPU
  s against 4,695 and 22; on the report block 32001-32010, 9 of 10 at a median of 7,055
  evaluations and 32 CPU s against 9 of 10 (the same seed unsolved), 7,950 and 38
  (benchmarks/lunar-search-2026-12-07d/); these defaults again on the fresh block
  33001-33010: 10 of 10, 6,000 and 28 (benchmarks/lunar-cpu-2026-12-07e/, where a cap of 400
  steps on training episodes, `train_max_steps`, solved 8 of 10 and was not adopted); on
  34001-34010, 9 of 10, 5,075 and 23, where an end game of 1 lifetime solved 8 of 10 and
  was not adopted (benchmarks/lunar-cpu-2026-12-07f/).
  examples/bipedal-walker.toml keeps 3.
"""

from __future__ import annotations

import math

from envs import EnvInfo
from island.config import NodeConfig

MIN_HIDDEN = 16
END_GAME_EPISODES = 2  # lifetimes per evaluation once a champion scored at the target
SMALL_OBSERVATIONS = 8  # below this, the earlier defaults measured best
EARLY_FACTOR = 2  # the early population (until off the plateau) is this many times popsize
PLATEAU_RESCUE = 0.3  # share of the evaluation cap by which a run must be off the plateau
PLATEAU_LEVEL = 0.5  # ... that is, halfway from a random policy's return to the target


def hidden_for(info: EnvInfo, kind: str = "weights+rules") -> list[int]:
    """Hidden layer widths for an environment and genome kind (see the module docstring):
    none for a genome that carries weights, hidden units for a rule to shape otherwise."""
    if kind != "rules":
        return []
    if info.obs_dim < SMALL_OBSERVATIONS:
        return [MIN_HIDDEN, MIN_HIDDEN]
    width = MIN_HIDDEN
    while width < info.obs_dim + info.act_dim:
        width *= 2
    return [width]


def popsize_for(info: EnvInfo, dim: int) -> int:
    """Population size for a genome of `dim` numbers; 0 leaves it to CMA-ES."""
    return 0 if info.obs_dim < SMALL_OBSERVATIONS else max(32, 4 + int(3 * math.log(dim)))


def resolve_sizes(config: NodeConfig, info: EnvInfo) -> None:
    """Fill the network's sizes the config leaves unset (before the genome spec exists)."""
    if config.evaluation.hidden is None:
        config.evaluation.hidden = hidden_for(info, config.evaluation.kind)


def resolve_search(config: NodeConfig, info: EnvInfo, dim: int) -> None:
    """Fill episodes (before and at the target), popsize and sigma the config leaves unset,
    for a genome of `dim`."""
    small = info.obs_dim < SMALL_OBSERVATIONS
    ev, evo = config.evaluation, config.evolution
    if ev.episodes is None:
        ev.episodes = 3 if small else 1
    if ev.episodes_at_target is None:
        ev.episodes_at_target = ev.episodes if small else max(ev.episodes, END_GAME_EPISODES)
    if evo.sigma is None:
        evo.sigma = 0.5 if small else 0.2
    sized_popsize = evo.popsize == 0
    if sized_popsize:
        evo.popsize = popsize_for(info, dim)
    if evo.early_popsize is None:  # a population given by the user is left as it is
        evo.early_popsize = EARLY_FACTOR * evo.popsize if sized_popsize and not small else 0
    if evo.rescue is None:  # the early population is the plateau's remedy in its place
        evo.rescue = 0.0 if small or evo.early_popsize else PLATEAU_RESCUE
    if evo.rescue_from is None:
        evo.rescue_from = "mean" if small else "start"
    if evo.rescue_level is None:
        evo.rescue_level = 1.0 if small else PLATEAU_LEVEL

