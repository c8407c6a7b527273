"""Checkpoints of format 1 (a pickle of the whole node state, before issue 12), read once.

Runs started before the explicit checkpoint document must still resume. Format 1
pickled the `Island` object, numpy's PCG64 state, island.node.Counters and the
Champion; the unpickler maps the renamed Counters class and the island gets the
attributes it lacked. Format 1 also saved a generation abandoned after `ask`, which
pycma cannot ask again: such a strategy is rebuilt around the best genome, as after
a numerical breakdown, and the event is counted. Only our own files reach this.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import numpy as np

from island.arrivals import Arrivals
from island.checkpoint import CheckpointError
from island.cmaes_island import Island
from island.migration import MigrationCounters
from island.stagnation import Stagnation


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("island.node", "Counters"):
            return MigrationCounters
        return super().find_class(module, name)


def convert_format1(payload: bytes, source: str) -> Any:
    """The NodeState a format-1 checkpoint described."""
    from island.state import NodeState

    try:
        state = _Unpickler(io.BytesIO(payload)).load()
        island: Island = state["island"]
        island.__dict__.pop("evaluations", None)
        island.__dict__.setdefault("bounds", None)
        island.__dict__.setdefault("numerical_resets", 0)
        island.__dict__.setdefault("last_failure", "")
        island.progress = Stagnation(  # format 1 kept the restart counters on the island
            island.__dict__.pop("stagnation"), island.__dict__.pop("_since_improvement"),
            island.__dict__.pop("_best_median"), island.__dict__.pop("_recent_medians", []),
            island.__dict__.pop("_since_restart"))
        island.arrivals = Arrivals(island.__dict__.pop("_max_injected", 0))
        island.__dict__.pop("_pending", None)
        island._untold = None
        if getattr(island.es, "_flgtelldone", True) is False:  # saved between ask and tell
            island._reset_after(RuntimeError("format-1 checkpoint saved mid-generation"))
        champion = state.get("champion")
        if champion is not None:
            champion.__dict__.setdefault("confirmations", [])
        seeds = np.random.default_rng()
        seeds.bit_generator.state = state["rng"]
        return NodeState(fingerprint=state["fingerprint"], island=island, seeds=seeds,
                         evaluations=int(state["evaluations"]), wall=float(state["wall"]),
                         migration=state["counters"], champion=champion)
    except Exception as exc:
        raise CheckpointError(f"{source}: format-1 checkpoint cannot be converted: "
                              f"{type(exc).__name__}: {exc}") from None
