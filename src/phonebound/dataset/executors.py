"""Run build tasks on a local process pool or a ``dask.distributed`` cluster through one interface.

Anything with ``submit(fn, *args) -> future`` works: a ``concurrent.futures`` executor or a
``dask.distributed.Client``. Results are yielded as they complete so the caller can stream them.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import PhoneboundError


class InlineExecutor:
    """Runs each task in this process (``-j 1``): simplest to debug and profile."""

    def submit(self, fn: Callable, *args: Any) -> cf.Future:
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args))
        except BaseException as e:  # noqa: BLE001 - delivered through the future like a pool
            future.set_exception(e)
        return future

    def shutdown(self, wait: bool = True) -> None:
        pass


def make_executor(kind: str = "local", jobs: int = 1, scheduler: str | None = None):
    """An executor by name: ``local`` (a process pool of ``jobs``, inline for 1) or ``dask``."""
    if kind == "local":
        if jobs <= 1:
            return InlineExecutor()
        import multiprocessing

        # "spawn" keeps workers free of the parent's threads (torch, BLAS) and locks.
        return cf.ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    if kind == "dask":
        try:
            from dask.distributed import Client
        except ImportError:
            raise PhoneboundError("the dask executor needs dask.distributed",
                                  fix="pip install 'phonebound[dask]'") from None
        if scheduler is None:
            from dask.distributed import LocalCluster

            return Client(LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True))
        return Client(scheduler)
    raise PhoneboundError(f"unknown executor {kind!r}", fix="use 'local' or 'dask'")


def run_tasks(executor, fn: Callable, tasks: Iterable[Any], max_pending: int = 64) -> Iterator[Any]:
    """Submit ``fn(task)`` for each task, at most ``max_pending`` at once; yield results as they finish."""
    is_dask = type(executor).__module__.startswith("distributed")
    pending: set = set()
    tasks = iter(tasks)
    exhausted = False
    while pending or not exhausted:
        while not exhausted and len(pending) < max_pending:
            try:
                pending.add(executor.submit(fn, next(tasks), pure=False) if is_dask else executor.submit(fn, next(tasks)))
            except StopIteration:
                exhausted = True
        if not pending:
            break
        if is_dask:
            from dask.distributed import wait

            done, pending = wait(list(pending), return_when="FIRST_COMPLETED")
            pending = set(pending)
        else:
            done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
        for future in done:
            yield future.result()


def close_executor(executor) -> None:
    if type(executor).__module__.startswith("distributed"):
        cluster = getattr(executor, "cluster", None)
        executor.close()
        if cluster is not None:
            cluster.close()
    else:
        executor.shutdown(wait=True)
