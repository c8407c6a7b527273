"""When a CMA-ES island restarts: progress of its smoothed generation median.

pycma's IPOP/BIPOP restarts live only in `fmin`, so an ask/tell island
(island/cmaes_island.py) decides itself. It restarts on a pycma stop condition
once the strategy has run `patience` generations, or after `patience`
generations without a new best *smoothed* generation median: the mean of the
last SMOOTHING medians. With one episode per evaluation a single generation's
median is itself a noisy draw, and its best-ever value, a lucky one, made
LunarLander islands restart while they were still improving. The island also
restarts when its step size has collapsed (`Island.collapsed`), which noise can
hide from the median, and `rescue_due` below restarts once a run that is short of
its end game late in its budget (off by default).

The node waits 200 generations (`evolution.stagnation`): at 60, LunarLander
islands restarted while their champion still crossed the plateau of crashing
policies (-130 to -5 for 6,000 evaluations on a seed that then solved), one of
them after 3,126 evaluations, and each doubled population halved the
generations left; tuning seed 111 ended at a held-out -76 with two restarts by
20,000 evaluations, and 149 with one at 200 (issue 16).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from island.stopping import StopCriteria

SMOOTHING = 10  # generation medians averaged into the progress a restart waits for


@dataclass
class Stagnation:
    """Generations since the smoothed median last improved, and since the last restart."""

    patience: int
    since_improvement: int = 0
    best_median: float = -np.inf
    recent_medians: list[float] = field(default_factory=list)
    since_restart: int = 0

    def observe(self, fitness: np.ndarray) -> None:
        """Count one generation of scores."""
        self.recent_medians = [*self.recent_medians, float(np.median(fitness))][-SMOOTHING:]
        median = float(np.mean(self.recent_medians))
        if median > self.best_median:
            self.best_median = median
            self.since_improvement = 0
        else:
            self.since_improvement += 1
        self.since_restart += 1

    @property
    def stalled(self) -> bool:
        """No better smoothed median for `patience` generations."""
        return self.since_improvement >= self.patience

    @property
    def settled(self) -> bool:
        """The strategy has run long enough for pycma's own stop tests to mean something:
        they fire at once on a flat start (tolfun, ...)."""
        return self.since_restart >= self.patience

    def reset(self) -> None:
        """A new strategy starts: nothing observed yet."""
        self.since_improvement = self.since_restart = 0
        self.best_median = -np.inf
        self.recent_medians = []


def rescue_due(share: float, stop: StopCriteria, evaluations: int, restarts: int,
               reached_target: bool, cpu: float = 0.0) -> bool:
    """`evolution.rescue`: a run that has not reached its end game by `share` of its
    evaluation cap (or, with none, of its CPU budget `--max-cpu`; `cpu` is what it has
    spent), and has not restarted, restarts now (IPOP) rather than spend the rest of its
    budget around a policy that hovers short of the target.

    Measured on LunarLander's late failures (6004; 5004 and 5010), whose champions passed
    0 and then hovered at 30-160 for 15,000-25,000 evaluations: around the run's mean it
    rescued none, and from the start (`rescue_from`) one of four hard seeds while losing
    two the defaults had solved (benchmarks/time_to_solve.md). So the node's default
    (island/sizing.py) spares runs that have left the crash plateau (`rescue_level`,
    island/generation.py) and restarts only those still on it: 19 of 20 fresh seeds
    solved against 18 of 20 without it.
    """
    if not share or stop.target is None or restarts or reached_target:
        return False
    if stop.max_evals:
        return evaluations >= share * stop.max_evals
    # A CPU budget drops the default evaluation cap; without this the rescue never came
    # (BipedalWalker seed 3922 spent 870 of its 1,200 CPU s on the plateau).
    return bool(stop.max_cpu) and cpu >= share * stop.max_cpu
