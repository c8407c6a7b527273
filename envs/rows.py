"""Per-row arrays of a population that shrink to the rows still running and come back.

Episodes of a lockstep batch end at different times; the array work per step
should follow the rows left. `RowArrays` keeps each named array for the whole
population and hands out compact copies of the current rows; `restore` writes
what those rows changed back, so every row returns with what it learned.
"""

from __future__ import annotations

import numpy as np


class RowArrays:
    """Named (P, ...) arrays, or (..., P) for the names in `rows_last` (kernels that run
    across rows in SIMD); `[name]` is the current rows' array (the whole one when all)."""

    def __init__(self, arrays: dict[str, np.ndarray], constant: frozenset[str] = frozenset(),
                 rows_last: frozenset[str] = frozenset()):
        self._all = arrays
        self._constant = constant  # read-only per row: never written back
        self._rows_last = rows_last
        name, array = next(iter(arrays.items()))
        self.P = array.shape[-1] if name in rows_last else len(array)
        self._select(np.arange(self.P))

    def __getitem__(self, name: str) -> np.ndarray:
        return self._now[name]

    def population(self, name: str) -> np.ndarray:
        """The array of every row (after `restore`, what each row learned)."""
        return self._all[name]

    @property
    def full(self) -> bool:
        return len(self.rows) == self.P

    def shrink(self, keep: np.ndarray) -> None:
        """Go on with only the current rows `keep` (positions in `rows`); the others are saved."""
        keep = np.asarray(keep, dtype=np.intp)
        if len(keep) == len(self.rows):
            return
        self._save()
        self._select(self.rows[keep])

    def restore(self) -> None:
        """Bring back every row, each with what it had when it was set aside."""
        if not self.full:
            self._save()
            self._select(np.arange(self.P))

    def discard(self) -> None:
        """Every row current again, without saving the current ones: a new lifetime starts."""
        if not self.full:
            self._select(np.arange(self.P))

    def _save(self) -> None:
        if self.full:
            return  # the current arrays are the population's own
        for name, array in self._now.items():
            if name in self._constant:
                continue
            if name in self._rows_last:
                self._all[name][..., self.rows] = array
            else:
                self._all[name][self.rows] = array

    def _select(self, rows: np.ndarray) -> None:
        self.rows = rows
        whole = len(rows) == self.P
        self._now = {name: a if whole else self._take(name, a, rows)
                     for name, a in self._all.items()}

    def _take(self, name: str, array: np.ndarray, rows: np.ndarray) -> np.ndarray:
        if name in self._rows_last:
            return np.take(array, rows, axis=-1)  # C-contiguous, as the kernels want it
        return array[rows]
