"""Worker processes for independent solves (pieces, LNS neighbourhoods), stopped at once on error.

Processes are started with *spawn*: HiGHS keeps a thread pool per process, which a forked child
would inherit in a broken state.  On any exception — Ctrl-C included — every worker is
terminated before the exception goes on, so an interrupted run never waits for its workers.
A worker whose parent dies (``kill -9``) notices within a second and exits, so it never outlives
the run it served.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import current_process, get_context


def may_start_workers() -> bool:
    """False inside a daemon process (a Dask or pool worker), which may not have children."""
    return not current_process().daemon


@contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A process pool of ``workers`` spawned processes, terminated at once if the block raises."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=_exit_with_parent, initargs=(os.getpid(),))
    try:
        yield pool
    except BaseException:
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        raise
    pool.shutdown(wait=True)


def _exit_with_parent(parent: int) -> None:
    """In a worker: end this process as soon as ``parent`` is gone (it was re-parented)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
