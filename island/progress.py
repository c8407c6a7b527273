"""Progress on a terminal: what a node prints as it runs, and island-cluster's table.

A node's output explains itself (issue 43): the first line says the seed and what will
end the run, a legend says once what each column is, each generation's line says how
much of the cap is spent and how long the rest would take at this pace, and a line
says each champion round, confirmation (passed or not, with its mean, bound and
target), restart, end game and resume as it happens.
"""

from __future__ import annotations

from typing import IO, Any

from island.record import (
    CONFIRMED,
    FAILED,
    INCONCLUSIVE,
    CapLifted,
    ChampionRound,
    Confirmation,
    EndGame,
    Event,
    FloorLifted,
    GenerationRecord,
    HeldOut,
    Kept,
    Rescue,
    Resized,
    Restart,
    StrategyReset,
)


def legend(validation_episodes: int, validate_every: int) -> list[str]:
    """What the columns of a generation's line mean, printed once at the start."""
    return [
        "columns: best      the highest training score sampled so far: the luckiest of "
        "many noisy samples, not what the run claims",
        "         gen-best  this generation's best training score; mean: its mean",
        f"         champion  the genome the run stands behind, re-scored with the CMA-ES mean "
        f"and the best recent sample on {validation_episodes} fresh lifetimes every "
        f"{validate_every} generations; the run stops once it is confirmed at the target",
        "         cap       share of the run's cap spent, and the time to the cap at this pace "
        "(the run stops earlier at its target)",
    ]


def duration(seconds: float) -> str:
    """`45s`, `12m`, `3h05m`: a time left, rounded as a reader wants it."""
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    return f"{seconds // 3600:.0f}h{seconds % 3600 / 60:02.0f}m"


def format_cap(share: float, wall: float) -> str:
    """`cap 3%, 9m left`: the share of the cap spent and the time to it at this pace."""
    if share <= 0:
        return "cap   0%"
    return f"cap {share:>4.0%}, {duration(wall * (1 - share) / share)} left"


def format_generation(record: GenerationRecord, cap: float | None = None) -> str:
    """`gen 12  evals 1,536  best 187.3  gen-best 150.2  mean 55.1  champion 120.4  sigma ...`,
    and the share `cap` of the run's cap spent when given."""
    parts = [
        f"gen {record.generation:>5}",
        f"evals {record.evaluations:>9,}",
        f"best {_fixed(record.best):>9}",
        f"gen-best {_fixed(record.gen_best):>9}",
        f"mean {_fixed(record.mean):>9}",
    ]
    if record.champion is not None:
        parts.append(f"champion {record.champion:>9.2f}")
    if record.env_scores:  # several environments: where the best's fitness came from
        parts.append(" ".join(f"{env_id} {v:.2f}" for env_id, v in record.env_scores.items()))
    parts += [f"sigma {record.sigma:.3g}", f"pop {record.popsize}"]
    if record.peers_alive is not None:
        parts.append(f"peers {record.peers_alive} in {record.migrants_in} "
                     f"out {record.migrants_out}")
    if cap is not None:
        parts.append(format_cap(cap, record.wall))
    parts.append(f"{record.wall:.1f}s")
    return "  ".join(parts)


def _fixed(value: float | None) -> str:
    """Two decimals; a fitness that was not finite is logged as None."""
    return f"{value:.2f}" if value is not None else "-inf"


def _score(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, int | float) else "-inf"


def format_event(kind: str, event: Event | GenerationRecord) -> str | None:
    """The line a node prints for one of its events, or None for the events it does not
    print (migrants and peers; the stop and the held-out score have lines of their own)."""
    gen = f"  gen {getattr(event, 'generation', None)}: "
    if isinstance(event, ChampionRound):
        scores = ", ".join(f"{label} {_score(score)}" for label, score in event.scores.items())
        news = f"new champion from the {event.origin}" if event.changed else "kept"
        return (f"{gen}champion round on {event.lifetimes} fresh lifetimes: {scores}; "
                f"{news}, {_score(event.score)}")
    if isinstance(event, Confirmation):
        verdict, relation, after = {
            CONFIRMED: ("passed", ">=", ""),
            INCONCLUSIVE: ("not yet conclusive", "<", "; more lifetimes"),
            FAILED: ("failed", "<", "; the search goes on")}[event.event]
        return (f"{gen}confirmation {verdict}: mean {_score(event.mean)} on "
                f"{event.lifetimes} fresh lifetimes, bound {_score(event.bound)} "
                f"{relation} target {event.target:g}{after}")
    if isinstance(event, EndGame):
        return (f"{gen}end game: a champion round scored {_score(event.score)}, at the "
                f"target; each genome now plays {event.episodes} lifetimes per evaluation")
    if isinstance(event, Kept):
        return (f"{gen}the run now stands behind this champion: the highest confirmed bound "
                f"so far, {_score(event.bound)} (mean {_score(event.mean)} on "
                f"{event.lifetimes} lifetimes)")
    if isinstance(event, Restart):
        return (f"{gen}CMA-ES restarts ({event.reason}) with a population of "
                f"{event.popsize}")
    if isinstance(event, Rescue):
        return (f"{gen}rescue: no champion round near the target by {event.evaluations:,} "
                f"evaluations; CMA-ES restarts with a population of {event.popsize}")
    if isinstance(event, Resized):
        return (f"{gen}off the plateau: a champion round scored {_score(event.score)}; "
                f"CMA-ES goes on with a population of {event.popsize}")
    if isinstance(event, StrategyReset):
        return f"{gen}CMA-ES starts afresh around the best genome after {event.reason}"
    if isinstance(event, FloorLifted):
        return f"{gen}training reward floor lifted: a champion round scored {_score(event.score)}"
    if isinstance(event, CapLifted):
        if event.by == "budget":
            return (f"{gen}training episode cap lifted: {event.spent:.0%} of the budget spent "
                    f"(best champion round {_score(event.score)})")
        return (f"{gen}training episode cap lifted: a champion round scored "
                f"{_score(event.score)}")
    return None


def format_held_out(summary: HeldOut) -> list[str]:
    """The lines a node prints of its held-out score (the `held_out` event)."""
    lines = [f"best genome on {summary.lifetimes} held-out lifetimes: "
             f"{summary.held_out_mean:.2f} +- {summary.held_out_std:.2f}"]
    for env_id, score in (summary.envs or {}).items():
        lines.append(f"  {env_id}: {score.mean:.2f} +- {score.std:.2f} "
                     f"(normalised {score.normalised_mean:.3f})")
    if summary.episodes_per_lifetime > 1:
        # Several environments: each one's curve in its own returns.
        curves = ({env_id: score.curve for env_id, score in summary.envs.items()}
                  if summary.envs is not None else {"": summary.curve})
        for env_id, curve in curves.items():
            where = f" in {env_id}" if env_id else ""
            lines.append(f"within-lifetime learning curve{where} (mean return by episode): "
                         + " ".join(f"{v:.0f}" for v in curve))
    return lines


TABLE_COLUMNS = ("island", "state", "gen", "evals", "evals/s", "best", "champion", "mean",
                 "migrants in/out", "wall")


def _number(value: Any, digits: int = 1) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "-"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.{digits}f}"


def island_row(name: str, record: GenerationRecord | None, exit_code: int | None) -> list[str]:
    """One island's cells from its last log record; `exit_code` None while it runs."""
    state = "running" if exit_code is None else f"exit {exit_code}"
    if record is None:
        return [name, state, *["-"] * 6, "- / -", "-"]
    wall, evaluations = record.wall, record.evaluations
    rate = evaluations / wall if wall else None
    return [name, state, _number(record.generation), _number(evaluations), _number(rate, 0),
            _number(record.best, 2), _number(record.champion, 2), _number(record.mean, 2),
            f"{_number(record.migrants_in)} / {_number(record.migrants_out)}",
            f"{wall:.0f}s"]


def format_rows(rows: list[list[str]]) -> list[str]:
    """A header and one aligned line per island (names left, numbers right)."""
    table = [list(TABLE_COLUMNS), *rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(TABLE_COLUMNS))]
    return ["  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                      for i, (c, w) in enumerate(zip(line, widths, strict=True)))
            for line in table]


class LiveProgress:
    """On a terminal, redraws one table in place; elsewhere (a pipe, a file) prints lines."""

    CURSOR_UP_AND_CLEAR = "\x1b[{n}F\x1b[J"  # to the start of the table, erase to the end

    def __init__(self, stream: IO[str]):
        self.stream, self.tty, self._drawn = stream, stream.isatty(), 0

    def update(self, table: list[str], line: str) -> None:
        """Show the newest state: the table on a terminal, else the one-line form."""
        if not self.tty:
            self.stream.write(line + "\n")
        else:
            if self._drawn:
                self.stream.write(self.CURSOR_UP_AND_CLEAR.format(n=self._drawn))
            self.stream.write("\n".join(table) + "\n")
            self._drawn = len(table)
        self.stream.flush()

    def message(self, text: str) -> None:
        """A line that stays: printed below the table, which then starts again beneath it."""
        self.stream.write(text + "\n")
        self.stream.flush()
        self._drawn = 0
