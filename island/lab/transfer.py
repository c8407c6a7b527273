"""A transfer matrix: rule genomes x environments, each against baselines on the same seeds.

Each cell scores one genome in one environment (a `rules` genome is re-sized for
it: rules are per layer) on held-out lifetimes, beside K random rules, the same
rule with learning off (decay, noise and perturbations kept) and with plasticity
off, and each constant action, all on the same seeds. Its margin is the
genome's mean minus the best baseline's; it `beats` the baselines when its margin
over every one of them exceeds two standard errors of that difference (one test
per baseline: `comparisons`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from island.lab.genome_file import GenomeFile
from island.lab.rule_study import HeldOutScore, Verdict, score_against_baselines, verdict
from island.record import RecordError


@dataclass(frozen=True)
class TransferCell:
    """One genome in one environment, with its baselines."""

    genome: str
    env: str
    trained_on: list[str]
    held_out_env: bool  # the genome never trained on this environment
    rows: list[HeldOutScore]

    @property
    def evolved(self) -> HeldOutScore:
        return self.rows[0]

    @property
    def best_baseline(self) -> HeldOutScore:
        return max(self.rows[1:], key=lambda r: r.mean)

    @property
    def margin(self) -> float:
        return self.evolved.mean - self.best_baseline.mean

    @property
    def verdict(self) -> Verdict:
        return verdict(self.rows)

    @property
    def beats_baselines(self) -> bool:
        return self.verdict.beats_all

    def to_dict(self) -> dict[str, Any]:
        return {"genome": self.genome, "env": self.env, "trained_on": self.trained_on,
                "held_out_env": self.held_out_env, "margin": self.margin,
                "best_baseline": self.best_baseline.name,
                "beats_baselines": self.beats_baselines,
                "comparisons": self.verdict.comparisons,
                "rows": [r.to_dict() for r in self.rows]}


def read_cells(path: str | Path) -> list[TransferCell]:
    """The cells of a `transfer.json` as `to_dict` wrote them (the derived fields, written for
    readers of the JSON, are recomputed); RecordError, one line, for another version's file."""
    try:
        return msgspec.json.decode(Path(path).read_bytes(), type=list[TransferCell])
    except msgspec.DecodeError as exc:  # also a field missing or of the wrong type
        raise RecordError(f"{path}: not a transfer matrix of this version ({exc})") from None


def score_cell(
    saved: GenomeFile, name: str, env_id: str, lifetimes: int, n_random: int,
    workers: int | None, lifetime: int = 0, offset: int = 0,
) -> TransferCell:
    """Score the genome `name` (read as `saved`) in `env_id` against its baselines (see
    module docstring)."""
    spec, x, settings = saved.scored_in(env_id)
    K = lifetime or saved.lifetime
    rows = score_against_baselines(settings, x, n_random, lifetimes, K, offset, workers)
    return TransferCell(name, env_id, saved.trained_on, env_id not in saved.trained_on,
                        rows)


def margins(cells: list[TransferCell]) -> tuple[list[str], list[str], np.ndarray]:
    """(genomes, envs, margin matrix) in first-seen order, NaN where a cell is missing."""
    genomes = list(dict.fromkeys(c.genome for c in cells))
    envs = list(dict.fromkeys(c.env for c in cells))
    matrix = np.full((len(genomes), len(envs)), np.nan)
    for c in cells:
        matrix[genomes.index(c.genome), envs.index(c.env)] = c.margin
    return genomes, envs, matrix
