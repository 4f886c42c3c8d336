"""Data-parallel training under ``torchrun``: the process group and the few collectives the
training loop needs. In a single process (no ``WORLD_SIZE`` > 1) every method is a no-op.

``torchrun --nproc_per_node N -m phonebound train ...`` starts N processes with ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` set; :class:`Distributed`
joins them into one process group (NCCL on GPUs, each process on ``cuda:LOCAL_RANK``; gloo on
CPUs). Rank 0 does everything that touches the model directory (logs, dev evaluation,
checkpoints, the final model) and broadcasts its decisions, so the ranks stop together and end
with the same weights.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from typing import Any, TypeVar

import torch

from ..errors import PhoneboundError

T = TypeVar("T")
TIMEOUT_ENV = "PHONEBOUND_DIST_TIMEOUT"  # seconds a rank waits for the others (rank 0's dev evaluation)


def world_from_env() -> tuple[int, int, int]:
    """(rank, world size, local rank) as torchrun sets them; (0, 1, 0) outside torchrun."""
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
            int(os.environ.get("LOCAL_RANK", 0)))


def is_main_process() -> bool:
    return world_from_env()[0] == 0


class Distributed:
    """The process group of a torchrun job (or a stand-in for one process)."""

    def __init__(self, device: torch.device):
        self.rank, self.world, self.local_rank = world_from_env()
        self.device = device
        self.owns_group = False
        if self.world <= 1:
            return
        import torch.distributed as dist

        if not dist.is_available():
            raise PhoneboundError("this PyTorch build has no torch.distributed", fix="install a standard PyTorch wheel")
        if device.type == "cuda":
            if torch.cuda.device_count() <= self.local_rank:
                raise PhoneboundError(f"process {self.local_rank} of this node has no GPU "
                                      f"({torch.cuda.device_count()} visible)",
                                      fix="start at most one process per GPU: torchrun --nproc_per_node <GPUs>")
            self.device = torch.device("cuda", self.local_rank)  # one GPU per process
            torch.cuda.set_device(self.device)
        if not dist.is_initialized():
            timeout = datetime.timedelta(seconds=float(os.environ.get(TIMEOUT_ENV, 3 * 3600)))
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo", timeout=timeout)
            self.owns_group = True

    @property
    def active(self) -> bool:
        return self.world > 1

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """``DistributedDataParallel(model)`` (it broadcasts rank 0's initial weights), or the model."""
        if not self.active:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def sum(self, value: torch.Tensor) -> torch.Tensor:
        """The sum of ``value`` over all ranks (every rank must call this at the same point)."""
        if not self.active:
            return value
        import torch.distributed as dist

        value = value.detach().clone().to(self.device)
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        return value

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order, on every rank."""
        if not self.active:
            return [obj]
        import torch.distributed as dist

        objects: list[Any] = [None] * self.world
        dist.all_gather_object(objects, obj)
        return objects

    def broadcast(self, obj: T) -> T:
        """Rank 0's ``obj`` on every rank."""
        if not self.active:
            return obj
        import torch.distributed as dist

        holder = [obj if self.rank == 0 else None]
        dist.broadcast_object_list(holder, src=0, device=self.device if self.device.type == "cuda" else None)
        return holder[0]

    def from_rank0(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on rank 0 only and hand its result to every rank; the others wait meanwhile.

        An exception in ``fn`` is raised on every rank (a user error with its own type and text),
        so a problem found by rank 0 stops the whole job instead of leaving the others waiting.
        """
        if not self.active:
            return fn()
        payload: Any = None
        if self.rank == 0:
            try:
                payload = ("ok", fn())
            except PhoneboundError as e:
                payload = ("user_error", (type(e), e.problem, e.path, e.fix))
            except Exception as e:  # noqa: BLE001 - re-raised below, on this rank with its traceback
                self.broadcast(("error", f"{type(e).__name__}: {e}"))
                raise
        payload = self.broadcast(payload)
        kind, value = payload
        if kind == "ok":
            return value
        if kind == "user_error":
            cls, problem, path, fix = value
            raise cls(problem, path, fix)
        raise RuntimeError(f"rank 0 failed: {value}")

    def broadcast_module(self, module: torch.nn.Module) -> None:
        """Copy rank 0's parameters and buffers into ``module`` on every rank."""
        if not self.active:
            return
        import torch.distributed as dist

        with torch.no_grad():
            for tensor in list(module.parameters()) + list(module.buffers()):
                dist.broadcast(tensor.data, src=0)

    def close(self, barrier: bool = False) -> None:
        """Leave the process group this run joined. After a finished run ``barrier`` makes every
        rank leave together: a gloo rank whose peer has already torn the group down may abort
        at exit ("terminate called without an active exception", seen in CI)."""
        if self.owns_group:
            import torch.distributed as dist

            if dist.is_initialized():
                if barrier:
                    dist.barrier()
                dist.destroy_process_group()
            self.owns_group = False


def rank_seed(seed: int, rank: int, step: int = 0) -> int:
    """A seed for rank ``rank``'s dropout stream (rank 0 keeps ``seed``: a one-process run is unchanged)."""
    return seed if rank == 0 and step == 0 else int(seed * 1_000_003 + rank * 7919 + step) % (2**63)
