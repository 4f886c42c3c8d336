"""Run build tasks on a local process pool or a ``dask.distributed`` cluster through one interface.

Anything with ``submit(fn, *args) -> future`` works: a ``concurrent.futures`` executor or a
``dask.distributed.Client``. Results are yielded as they complete so the caller can stream them.

With dask, every task runs on some worker of the cluster and writes its shard straight into the
output directory, so that directory must be on a filesystem every worker and the client share
(NFS, Lustre, GPFS, ...); the client only collects the small per-shard summaries and then indexes
the shards. ``make_executor("dask")`` without a scheduler starts a ``LocalCluster`` on this machine.

One worker is one core: a task decorated with :func:`single_threaded` runs with its BLAS/OpenMP
pools at one thread (as dask's nannies set up their workers): workers that each start a thread
per core oversubscribe the machine, and small matrix products then run many times slower.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import PhoneboundError

EXECUTORS = ("local", "dask")


def _one_thread_pools():
    """A context limiting BLAS/OpenMP thread pools to one thread (a no-op without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


def single_threaded(fn: Callable) -> Callable:
    """Decorate a task so that it runs with one BLAS/OpenMP thread, on whichever executor runs it
    (keeps the task's name, so workers still unpickle it by reference)."""
    import functools

    @functools.wraps(fn)
    def task(*args: Any, **kwargs: Any) -> Any:
        with _one_thread_pools():
            return fn(*args, **kwargs)

    return task


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


def make_executor(kind: str = "local", jobs: int = 1, scheduler: str | None = None, *,
                  connect_timeout: float = 30.0, worker_timeout: float = 120.0):
    """An executor by name: ``local`` (a process pool of ``jobs``, inline for 1) or ``dask``.

    ``dask`` connects to ``scheduler`` (``tcp://HOST:8786``, or a ``--scheduler-file`` JSON) or,
    without one, starts a ``LocalCluster`` of ``jobs`` single-threaded worker processes. It waits up
    to ``worker_timeout`` s for a worker and checks that every worker can import phonebound.
    """
    if kind not in EXECUTORS:
        raise PhoneboundError(f"unknown executor {kind!r}", fix="use 'local' or 'dask'")
    if jobs < 1:
        raise PhoneboundError(f"--jobs must be at least 1 (got {jobs})", fix="pass -j 1 or more")
    if kind == "local":
        if scheduler is not None:
            raise PhoneboundError("--scheduler is for the dask executor",
                                  fix="add --executor dask, or drop --scheduler to build on this machine")
        if jobs <= 1:
            return InlineExecutor()
        import multiprocessing

        # "spawn" keeps workers free of the parent's threads (torch, BLAS) and locks.
        return cf.ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        from dask.distributed import Client
    except ImportError:
        raise PhoneboundError("the dask executor needs dask.distributed, which is not installed",
                              fix="pip install 'phonebound[dask]' (on the client and on every worker)") from None
    if scheduler is None:
        from dask.distributed import LocalCluster

        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True)
        client = Client(cluster, set_as_default=False)
    else:
        try:
            if scheduler.endswith(".json"):
                client = Client(scheduler_file=scheduler, timeout=connect_timeout, set_as_default=False)
            else:
                client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise PhoneboundError(f"cannot reach the dask scheduler ({str(e).splitlines()[0][:160] or type(e).__name__})",
                                  scheduler, "start one with `dask scheduler` and pass its address, "
                                  "e.g. --scheduler tcp://HOST:8786") from None
        try:
            client.wait_for_workers(1, timeout=worker_timeout)
        except (TimeoutError, OSError):
            client.close()
            raise PhoneboundError(f"no dask worker joined the scheduler within {worker_timeout:.0f} s", scheduler,
                                  f"start workers with `dask worker {scheduler}` on the machines that share the "
                                  "output directory") from None
    try:
        _check_workers(client)
    except BaseException:
        close_executor(client)
        raise
    return client


def _phonebound_version() -> str:
    from phonebound._version import __version__  # importing it imports the phonebound package

    return __version__


def _check_workers(client) -> None:
    """Every worker must import the same phonebound as the client (tasks are pickled by reference)."""
    from .._version import __version__

    where = getattr(client, "scheduler", None)
    where = getattr(where, "address", None)
    try:
        versions = client.run(_phonebound_version)
    except Exception as e:  # noqa: BLE001 - any failure here means the workers cannot run our tasks
        raise PhoneboundError(f"dask workers cannot import phonebound ({type(e).__name__}: {str(e)[:160]})", where,
                              "install the same phonebound (and its dependencies) in every worker's environment") from None
    other = {w: v for w, v in versions.items() if v != __version__}
    if other:
        worker, version = next(iter(other.items()))
        raise PhoneboundError(f"{len(other)} dask worker(s) run phonebound {version} (e.g. {worker}), "
                              f"this client runs {__version__}", where,
                              "install the same phonebound version on the client and every worker")


def is_dask(executor) -> bool:
    return type(executor).__module__.startswith("distributed")


def _dask_threads(executor) -> int:
    try:
        return sum(executor.nthreads().values())
    except Exception:  # noqa: BLE001 - only a hint for how many tasks to keep queued
        return 0


def run_tasks(executor, fn: Callable, tasks: Iterable[Any], max_pending: int | None = None) -> Iterator[Any]:
    """Submit ``fn(task)`` for each task, a bounded number at once; yield results as they finish.

    At most ``max_pending`` tasks are in flight (default 64, or twice a dask cluster's threads
    when that is more), so a huge plan never floods the scheduler or the client's memory.
    """
    dask = is_dask(executor)
    if max_pending is None:
        max_pending = max(64, 2 * _dask_threads(executor)) if dask else 64
    tasks = iter(tasks)
    if dask:
        yield from _run_dask(executor, fn, tasks, max_pending)
        return
    pending: set = set()
    exhausted = False
    while pending or not exhausted:
        while not exhausted and len(pending) < max_pending:
            try:
                pending.add(executor.submit(fn, next(tasks)))
            except StopIteration:
                exhausted = True
        if not pending:
            break
        done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
        for future in done:
            yield future.result()


def _run_dask(client, fn: Callable, tasks: Iterator[Any], max_pending: int) -> Iterator[Any]:
    # as_completed on the client's own loop: it must not depend on a global default client.
    from dask.distributed import as_completed

    queue = as_completed(loop=client.loop)
    in_flight = 0

    def refill() -> None:
        nonlocal in_flight
        for task in tasks:
            queue.add(client.submit(fn, task, pure=False))
            in_flight += 1
            if in_flight >= max_pending:
                return

    refill()
    while in_flight:
        future = next(queue)
        in_flight -= 1
        result = future.result()
        future.release()
        refill()
        yield result


def close_executor(executor) -> None:
    """Shut an executor down; a ``LocalCluster`` that :func:`make_executor` started is closed too,
    a remote cluster is left running (only this client disconnects)."""
    if is_dask(executor):
        from dask.distributed import LocalCluster

        cluster = getattr(executor, "cluster", None)
        executor.close()
        if isinstance(cluster, LocalCluster):
            cluster.close()
    else:
        executor.shutdown(wait=True)


def shared_filesystem_fix(out: Path) -> str:
    return (f"with --executor dask the output directory ({out}) must be on a shared filesystem that every "
            "worker and this client see at the same path")
