"""Ctrl-C during a solve: ask the solver to stop at its next check, then raise KeyboardInterrupt.

HiGHS runs in C++ and does not return to Python when the user presses Ctrl-C, so Python's
default handler would only fire once the whole solve is over.  While :func:`interruptible` is
active (main thread only), SIGINT just sets a flag; the solver's periodic interrupt callback sees
it and stops; on leaving the block, KeyboardInterrupt is raised as usual, so callers and the CLI
handle it like any Ctrl-C — and no half-finished plan is returned.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_requested = False


def requested() -> bool:
    """True once Ctrl-C was pressed inside :func:`interruptible`."""
    return _requested


def _on_sigint(_signum, _frame) -> None:
    global _requested
    _requested = True


@contextmanager
def interruptible() -> Iterator[None]:
    """Turn Ctrl-C into a stop request for the solver (no-op off the main thread, when nested,
    or when the application installed its own SIGINT handler)."""
    global _requested
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        was, _requested = _requested, False
    if was:
        raise KeyboardInterrupt
