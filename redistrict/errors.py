"""The error hierarchy: every failure the CLI can explain, with the ids involved.

Each class also subclasses the builtin it refines, so ``except ValueError`` still works for
callers who do not know this package.  The CLI maps ``exit_code`` to its process exit status.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class RedistrictError(Exception):
    """Base class of every error the package raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, ids: Iterable[object] = (), path: str | None = None):
        super().__init__(message)
        self.message = message
        self.ids: Sequence[object] = list(ids)
        self.path = path

    def __str__(self) -> str:
        return self.message


class InputError(RedistrictError, ValueError):
    """The input data or options cannot be used as they are (exit code 2)."""

    exit_code = 2


class InfeasibleError(RedistrictError):
    """No plan satisfies the constraints; ``diagnosis`` says why (exit code 3)."""

    exit_code = 3

    def __init__(self, message: str, *, diagnosis: object = None, ids: Iterable[object] = ()):
        super().__init__(message, ids=ids)
        self.diagnosis = diagnosis


class SolverError(RedistrictError, RuntimeError):
    """The solver found no usable plan within its limits, or failed (exit code 4)."""

    exit_code = 4


class VerificationError(RedistrictError):
    """A plan failed the independent verifier; it is never written as a success."""

    exit_code = 5

    def __init__(self, message: str, *, violations: object = None, ids: Iterable[object] = ()):
        super().__init__(message, ids=ids)
        self.violations = violations


class RedistrictWarning(UserWarning):
    """Warnings about data the package repaired or options it adjusted."""
