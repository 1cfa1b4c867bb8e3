"""A solver-neutral MILP held as numpy blocks: columns, rows in CSR, and an objective offset.

Formulations append whole blocks of variables and rows at once (vectorised), and the backends
turn the result into a HiGHS or CBC model.  Rows are ``lower <= A x <= upper``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

INF = float("inf")


@dataclass(frozen=True, eq=False)
class RowBlock:
    """A block of rows in CSR form: ``lower <= A x <= upper``."""

    lower: np.ndarray
    upper: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray

    @property
    def num_rows(self) -> int:
        """Number of rows in the block."""
        return len(self.lower)

    @classmethod
    def from_coo(
        cls,
        row: np.ndarray,
        col: np.ndarray,
        val: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
    ) -> RowBlock:
        """Build from coordinates; ``row`` numbers rows 0..len(lower)-1 within the block.

        Repeated (row, col) entries are summed and zero coefficients dropped, as solvers
        reject duplicates.
        """
        row = np.asarray(row, dtype=np.int64)
        col = np.asarray(col, dtype=np.int64)
        val = np.asarray(val, dtype=np.float64)
        lower = np.asarray(lower, dtype=np.float64)
        upper = np.asarray(upper, dtype=np.float64)
        order = np.lexsort((col, row))
        row, col, val = row[order], col[order], val[order]
        if len(row):
            first = np.ones(len(row), dtype=bool)
            first[1:] = (row[1:] != row[:-1]) | (col[1:] != col[:-1])
            if not first.all():
                starts = np.flatnonzero(first)
                val = np.add.reduceat(val, starts)
                row, col = row[starts], col[starts]
            keep = val != 0
            row, col, val = row[keep], col[keep], val[keep]
        indptr = np.zeros(len(lower) + 1, dtype=np.int64)
        np.add.at(indptr, row + 1, 1)
        return cls(lower, upper, np.cumsum(indptr), col, val)

    @classmethod
    def empty(cls) -> RowBlock:
        """A block with no rows."""
        z = np.zeros(0)
        return cls(z, z, np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64), z)

    @classmethod
    def concat(cls, blocks: list[RowBlock]) -> RowBlock:
        """Stack blocks vertically."""
        blocks = [b for b in blocks if b.num_rows]
        if not blocks:
            return cls.empty()
        shifts = np.cumsum([0] + [len(b.indices) for b in blocks[:-1]])
        indptr = np.concatenate([[0]] + [b.indptr[1:] + s for b, s in zip(blocks, shifts, strict=True)])
        return cls(
            np.concatenate([b.lower for b in blocks]),
            np.concatenate([b.upper for b in blocks]),
            indptr.astype(np.int64),
            np.concatenate([b.indices for b in blocks]),
            np.concatenate([b.values for b in blocks]),
        )


@dataclass(eq=False)
class Milp:
    """A minimisation MILP built block by block; ``add_vars`` and ``add_rows`` return indices."""

    col_lower: list[np.ndarray] = field(default_factory=list)
    col_upper: list[np.ndarray] = field(default_factory=list)
    col_cost: list[np.ndarray] = field(default_factory=list)
    col_integer: list[np.ndarray] = field(default_factory=list)
    rows: list[RowBlock] = field(default_factory=list)
    bound_changes: list[tuple[np.ndarray, float, float]] = field(default_factory=list)
    offset: float = 0.0
    num_cols: int = 0
    num_rows: int = 0

    def add_vars(
        self, count: int, *, lower: float = 0.0, upper: float = 1.0, cost: np.ndarray | float = 0.0,
        integer: bool = True,
    ) -> np.ndarray:
        """Append ``count`` variables sharing bounds and type; returns their column indices."""
        self.col_lower.append(np.full(count, lower, dtype=np.float64))
        self.col_upper.append(np.full(count, upper, dtype=np.float64))
        self.col_cost.append(np.broadcast_to(np.asarray(cost, dtype=np.float64), (count,)).copy())
        self.col_integer.append(np.full(count, integer, dtype=bool))
        idx = np.arange(self.num_cols, self.num_cols + count, dtype=np.int64)
        self.num_cols += count
        return idx

    def add_rows(self, block: RowBlock) -> np.ndarray:
        """Append a block of rows; returns their row indices."""
        self.rows.append(block)
        idx = np.arange(self.num_rows, self.num_rows + block.num_rows, dtype=np.int64)
        self.num_rows += block.num_rows
        return idx

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(lower, upper, cost, integer) of all columns."""

        def cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

        lower, upper = cat(self.col_lower, float), cat(self.col_upper, float)
        for cols, lo, up in self.bound_changes:
            lower[cols] = lo
            upper[cols] = up
        return lower, upper, cat(self.col_cost, float), cat(self.col_integer, bool)

    def set_bounds(self, cols: np.ndarray, lower: float, upper: float) -> None:
        """Change the bounds of some existing columns (e.g. fix a root's label to 1)."""
        self.bound_changes.append((np.asarray(cols, dtype=np.int64), lower, upper))

    def matrix(self) -> RowBlock:
        """All rows as one CSR block."""
        return RowBlock.concat(self.rows)
