"""When a node stops by itself.

With no criterion given, a run must still end (issue 12: `island-node` alone ran on
long after CartPole was solved): it stops when the score the run stands behind (the
champion's validation mean) reaches the environment's own `reward_threshold`, the
score its gymnasium spec calls solved, with an evaluation cap in case it never does.
"""

from __future__ import annotations

from dataclasses import dataclass

from island.config import StopConfig


@dataclass(frozen=True)
class StopCriteria:
    """Limits of one run; None or 0 leaves a limit off."""

    target: float | None = None
    max_evals: int = 0
    max_time: float = 0.0
    max_generations: int = 0
    target_source: str = "--target"  # where the target comes from, for messages

    @classmethod
    def from_config(cls, stop: StopConfig, env_id: str,
                    reward_threshold: float | None) -> StopCriteria:
        """The configured limits, or the environment's threshold and the evaluation cap."""
        given = (stop.target is not None or stop.max_evals or stop.max_time
                 or stop.max_generations)
        if given:
            return cls(stop.target, stop.max_evals, stop.max_time, stop.max_generations)
        return cls(reward_threshold, stop.default_max_evals,
                   target_source=f"{env_id}'s reward_threshold")

    def reason(self, score: float, evaluations: int, generation: int,
               wall: float) -> str | None:
        """Why the run is over, or None while it goes on."""
        if self.target is not None and score >= self.target:
            return f"{self.target_source} {self.target:g} reached"
        if self.max_evals and evaluations >= self.max_evals:
            return f"max_evals {self.max_evals} reached"
        if self.max_generations and generation >= self.max_generations:
            return f"max_generations {self.max_generations} reached"
        if self.max_time and wall >= self.max_time:
            return f"max_time {self.max_time:g}s reached"
        return None

    def describe(self) -> str:
        """One line for the start of a run: what will end it."""
        parts = []
        if self.target is not None:
            parts.append(f"score {self.target:g} ({self.target_source})")
        if self.max_evals:
            parts.append(f"{self.max_evals:,} evaluations")
        if self.max_generations:
            parts.append(f"{self.max_generations:,} generations")
        if self.max_time:
            parts.append(f"{self.max_time:g} s")
        return " or ".join(parts) if parts else "a signal (no limit set)"
