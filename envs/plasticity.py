"""The learning-rule updates, applied in place to a whole population's weights at once.

Each function updates one layer for P genomes: `W` is (P, out, in), `pre` is
(P, in), `post` is (P, out), `rule` is (n_params, P) in natural units (one
contiguous row per parameter), `gain` is (P,) = 1 + M r_t already masked (0 for
genomes whose episode has ended), `active` is (P,) 1.0 or 0.0, and `buf` is a
preallocated (P, out, in) scratch array. No per-genome Python loop.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from genome.rules import HEBBIAN, OJA

_H = {name: i for i, name in enumerate(HEBBIAN.names)}
_O = {name: i for i, name in enumerate(OJA.names)}


def hebbian_update(
    W: np.ndarray, pre: np.ndarray, post: np.ndarray, rule: np.ndarray,
    gain: np.ndarray, active: np.ndarray, buf: np.ndarray,
) -> None:
    """dW = eta (A post x pre + B pre + C post + D)(1 + M r) - decay W  (DESIGN.md)."""
    step = rule[_H["eta"]] * gain  # (P,)
    # A post pre + C post = post (A pre + C); B pre + D is shared by every row of W.
    a_pre_c = rule[_H["hebbian"], :, None] * pre
    a_pre_c += rule[_H["post"], :, None]
    b_pre_d = rule[_H["pre"], :, None] * pre
    b_pre_d += rule[_H["bias"], :, None]
    b_pre_d *= step[:, None]
    np.multiply((step[:, None] * post)[:, :, None], a_pre_c[:, None, :], out=buf)
    buf += b_pre_d[:, None, :]
    W *= (1.0 - rule[_H["decay"]] * active)[:, None, None]
    W += buf


def oja_update(
    W: np.ndarray, pre: np.ndarray, post: np.ndarray, rule: np.ndarray,
    gain: np.ndarray, active: np.ndarray, buf: np.ndarray,
) -> None:
    """dW = eta A post (pre - post W)(1 + M r) - decay W  (Oja 1982, reward-modulated)."""
    step = rule[_O["eta"]] * rule[_O["hebbian"]] * gain  # (P,)
    s_post = step[:, None] * post  # (P, out)
    keep = (1.0 - rule[_O["decay"]] * active)[:, None] - s_post * post  # (P, out)
    W *= keep[:, :, None]
    np.multiply(s_post[:, :, None], pre[:, None, :], out=buf)
    W += buf


UpdateFn = Callable[..., None]
UPDATES: dict[str, UpdateFn] = {HEBBIAN.name: hebbian_update, OJA.name: oja_update}
