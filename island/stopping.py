"""When a node stops by itself: at a target score, or at a cap, whichever comes first.

A run must end (issue 12: `island-node` alone ran on long after CartPole was solved):
it stops when the score the run stands behind (the champion's confirmed bound) reaches
the target, the environment's own `reward_threshold` (the score its gymnasium spec calls
solved) unless `--target` says otherwise. Caps (`--max-evals`, `--max-time`, `--max-cpu`,
`--max-generations`) only bound a run: they never remove the target (issue 43: a
`--max-time 1200` given as a safety cap once made a solved CartPole run go on to 1200 s).
With no cap given, `default_max_evals` is the cap; `--target none` runs to the cap.
`--max-cpu` budgets what a shared cluster bills (CPU seconds of the node process and its
workers, the `cpu` of log.jsonl), which other users of the machine do not change.
"""

from __future__ import annotations

from dataclasses import dataclass

from island.config import NO_TARGET, StopConfig


@dataclass(frozen=True)
class StopCriteria:
    """Limits of one run; None or 0 leaves a limit off."""

    target: float | None = None
    max_evals: int = 0
    max_time: float = 0.0
    max_generations: int = 0
    max_cpu: float = 0.0
    target_source: str = "--target"  # where the target comes from, for messages

    @classmethod
    def from_config(cls, stop: StopConfig, env_id: str,
                    reward_threshold: float | None) -> StopCriteria:
        """The target (given, or the environment's threshold) and the caps (given, or the
        default evaluation cap)."""
        if stop.target is None:
            target, source = reward_threshold, f"{env_id}'s reward_threshold"
        else:
            target, source = stop.target, "--target"
        if target == NO_TARGET:
            target = None
        capped = stop.max_evals or stop.max_time or stop.max_generations or stop.max_cpu
        max_evals = stop.max_evals or (0 if capped else stop.default_max_evals)
        return cls(target, max_evals, stop.max_time, stop.max_generations, stop.max_cpu,
                   source)

    def progress(self, evaluations: int, generation: int, wall: float,
                 cpu: float = 0.0) -> float:
        """How far the run is towards its nearest cap, 0 to 1."""
        shares = [0.0]
        if self.max_evals:
            shares.append(evaluations / self.max_evals)
        if self.max_generations:
            shares.append(generation / self.max_generations)
        if self.max_time:
            shares.append(wall / self.max_time)
        if self.max_cpu:
            shares.append(cpu / self.max_cpu)
        return min(1.0, max(shares))

    def reason(self, score: float, evaluations: int, generation: int,
               wall: float, cpu: float = 0.0) -> str | None:
        """Why the run is over, or None while it goes on."""
        if self.target is not None and score >= self.target:
            return f"{self.target_source} {self.target:g} reached"
        if self.max_evals and evaluations >= self.max_evals:
            return f"max_evals {self.max_evals} reached"
        if self.max_generations and generation >= self.max_generations:
            return f"max_generations {self.max_generations} reached"
        if self.max_time and wall >= self.max_time:
            return f"max_time {self.max_time:g}s reached"
        if self.max_cpu and cpu >= self.max_cpu:
            return f"max_cpu {self.max_cpu:g} CPU s reached"
        return None

    def describe(self) -> str:
        """One line for the start of a run: what will end it."""
        caps = []
        if self.max_evals:
            caps.append(f"{self.max_evals:,} evaluations")
        if self.max_generations:
            caps.append(f"{self.max_generations:,} generations")
        if self.max_time:
            caps.append(f"{self.max_time:g} s")
        if self.max_cpu:
            caps.append(f"{self.max_cpu:g} CPU s")
        cap = " or ".join(caps)
        if self.target is None:
            return f"a cap of {cap} (no target)" if cap else "a signal (no target, no cap)"
        goal = f"a champion confirmed at {self.target:g} ({self.target_source})"
        return f"{goal}, or a cap of {cap}" if cap else goal
