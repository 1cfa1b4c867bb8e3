"""The built assignment model: a :class:`Milp` plus the maps to read plans out and put cuts in.

Both bases share this shape.  In the Hess base a *unit* is identified by its centre node; in the
labeling base by its label ``0..k-1``.  ``x[i, u]`` exists only for the pairs that survived
fixing, stored sorted by ``key = u * n + i`` so lookups are a vectorised binary search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from redistrict.model._milp import Milp


@dataclass(eq=False)
class BuiltModel:
    """A MILP with its assignment variables ``x[i, u]`` and optional cut-edge / slack columns."""

    milp: Milp
    base: Literal["hess", "labeling"]
    n: int
    x_col: np.ndarray
    x_node: np.ndarray
    x_unit: np.ndarray
    x_key: np.ndarray
    roots: dict[int, int] = field(default_factory=dict)
    s_col: int | None = None
    w_col: np.ndarray | None = None
    w_edge: np.ndarray | None = None
    w_unit: np.ndarray | None = None
    y_col: np.ndarray | None = None
    y_edge: np.ndarray | None = None
    fixed_counts: dict[str, int] = field(default_factory=dict)
    order_position: np.ndarray | None = None

    def col(self, unit: np.ndarray | int, node: np.ndarray | int) -> np.ndarray:
        """Column of ``x[node, unit]``, or -1 where that pair was fixed to zero."""
        key = np.asarray(unit, dtype=np.int64) * self.n + np.asarray(node, dtype=np.int64)
        pos = np.searchsorted(self.x_key, key)
        pos_c = np.minimum(pos, len(self.x_key) - 1)
        found = (pos < len(self.x_key)) & (self.x_key[pos_c] == key) if len(self.x_key) else key < -1
        return np.where(found, self.x_col[pos_c] if len(self.x_key) else -1, -1)

    def unit_members(self, unit: int) -> np.ndarray:
        """Nodes that may belong to ``unit`` (its surviving pairs)."""
        lo = np.searchsorted(self.x_key, unit * self.n)
        hi = np.searchsorted(self.x_key, (unit + 1) * self.n)
        return self.x_node[lo:hi]

    def units(self) -> np.ndarray:
        """All unit ids that have at least one variable."""
        return np.unique(self.x_unit)

    def decode(self, values: np.ndarray) -> np.ndarray | None:
        """Unit of every node from a solution vector, or None if some node has no unit."""
        chosen = values[self.x_col] > 0.5
        unit_of = np.full(self.n, -1, dtype=np.int64)
        unit_of[self.x_node[chosen]] = self.x_unit[chosen]
        if (unit_of < 0).any():
            return None
        return unit_of

    def canonical(self, centre_of: np.ndarray) -> np.ndarray:
        """This model's unit ids for a plan given as any per-node unit label (e.g. centres).

        Hess with a vertex ordering: a unit's id is its first node; Hess without one: the labels
        are taken as the centres; labeling: units are numbered by their first node's position.
        """
        centre_of = np.asarray(centre_of, dtype=np.int64)
        if self.base == "hess" and self.order_position is None:
            return centre_of.copy()
        _, inv = np.unique(centre_of, return_inverse=True)
        pos = self.order_position if self.order_position is not None else np.arange(self.n)
        first_pos = np.full(inv.max() + 1, np.iinfo(np.int64).max)
        np.minimum.at(first_pos, inv, pos)
        if self.base == "hess":
            order = np.argsort(pos)
            return order[first_pos][inv]
        rank = np.argsort(np.argsort(first_pos))
        return rank[inv]

    def start_vector(self, unit_of: np.ndarray, violation: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """(columns, values) of a complete integer start for a plan given as unit per node.

        Raises ValueError if the plan uses a pair that was fixed to zero.
        """
        cols_on = self.col(unit_of, np.arange(self.n))
        if (cols_on < 0).any():
            raise ValueError("plan uses an assignment removed by fixing")
        values = np.zeros(self.milp.num_cols)
        values[cols_on] = 1.0
        idx = [self.x_col]
        if self.w_col is not None and self.w_edge is not None and self.w_unit is not None:
            u, v = self.w_edge[:, 0], self.w_edge[:, 1]
            values[self.w_col] = ((unit_of[u] == self.w_unit) & (unit_of[v] == self.w_unit)).astype(float)
            idx.append(self.w_col)
        if self.y_col is not None and self.y_edge is not None:
            values[self.y_col] = (unit_of[self.y_edge[:, 0]] != unit_of[self.y_edge[:, 1]]).astype(float)
            idx.append(self.y_col)
        if self.s_col is not None:
            values[self.s_col] = violation
            idx.append(np.array([self.s_col]))
        cols = np.concatenate(idx)
        return cols, values[cols]
