"""The executor interface's own rules: one thread per task, tasks pickled by reference."""

from __future__ import annotations

import pickle

import pytest

from phonebound.dataset import build
from phonebound.dataset.build import BuildConfig, build_dataset, build_shard
from phonebound.dataset.executors import single_threaded

threadpoolctl = pytest.importorskip("threadpoolctl")


def _threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpoolctl.threadpool_info()]


def test_shard_tasks_run_with_one_blas_thread(tmp_path, fixtures_dir, monkeypatch):
    """Workers that each start a BLAS thread per core oversubscribe the machine (the mel matrix
    product ran 3-10x slower on a busy 2-core machine): every shard task runs single-threaded."""
    import numpy  # noqa: F401 - loads the BLAS whose pool is limited

    seen = []
    original = build.sequence_example

    def spy(u, fcfg):
        seen.append(_threads())
        return original(u, fcfg)

    monkeypatch.setattr(build, "sequence_example", spy)
    with threadpoolctl.threadpool_limits(limits=2):
        build_dataset(fixtures_dir / "praatio", tmp_path / "ds", BuildConfig())
        assert max(_threads()) == 2  # ... and the caller's own pools are left as they were
    assert seen and all(n == 1 for threads in seen for n in threads), seen


def test_a_single_threaded_task_keeps_its_name_for_pickling():
    assert pickle.loads(pickle.dumps(build_shard)) is build_shard
    assert build_shard.__name__ == "build_shard" and build_shard.__wrapped__.__name__ == "build_shard"
    assert single_threaded(abs)(-3) == 3
