"""One terminal line per generation, readable at a glance."""

from __future__ import annotations

from island.record import GenerationRecord


def format_generation(record: GenerationRecord) -> str:
    """`gen 12  evals 1,536  best 187.3  gen-best 150.2  mean 55.1  champion 120.4  sigma ...`."""
    parts = [
        f"gen {record.generation:>5}",
        f"evals {record.evaluations:>9,}",
        f"best {record.best:>9.2f}",
        f"gen-best {record.gen_best:>9.2f}",
        f"mean {record.mean:>9.2f}",
    ]
    if record.champion is not None:
        parts.append(f"champion {record.champion:>9.2f}")
    parts += [f"sigma {record.sigma:.3g}", f"pop {record.popsize}"]
    if record.peers_alive is not None:
        parts.append(f"peers {record.peers_alive} in {record.migrants_in} "
                     f"out {record.migrants_out}")
    parts.append(f"{record.wall:.1f}s")
    return "  ".join(parts)
