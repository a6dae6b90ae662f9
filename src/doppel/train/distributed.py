"""Training in several processes (DDP through accelerate / torch.distributed).

`doppel train CONFIG --num-processes N` starts N copies of itself: on GPUs through
`accelerate launch` (with `train.accelerate_config` for FSDP or DeepSpeed), on CPUs through
`torch.distributed.run` with the gloo backend. Every rank trains; rank 0 alone writes the
run folder (manifest, checkpoints' shared files, the saved model), and the ranks meet at a
barrier around each stage so they agree on what is current. After training each rank
hashes its weights and its first batch: the weights must be identical (the gradients were
averaged) while the batches differ (each rank read its own share of the data).
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

WORKER_ENV = "DOPPEL_TRAIN_WORKER"


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    return rank() == 0


def is_worker() -> bool:
    """True inside a process started by `launch` (it must not launch again)."""
    return os.environ.get(WORKER_ENV) == "1"


def init() -> None:
    """Join the process group when started as one of several ranks (no-op otherwise)."""
    if world_size() <= 1:
        return
    import torch
    from accelerate import PartialState

    PartialState(cpu=not torch.cuda.is_available())


def barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_command(num_processes: int, worker_args: list[str], cuda: bool,
                   accelerate_config: Path | None = None) -> list[str]:
    """The command that starts `num_processes` ranks of `doppel <worker_args>`."""
    port = str(_free_port())
    if cuda:
        cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(num_processes),
               "--main_process_port", port]
        if accelerate_config is not None:
            cmd += ["--config_file", str(accelerate_config)]
        else:
            cmd += ["--multi_gpu"]
        return cmd + ["-m", "doppel", *worker_args]
    # accelerate's CPU launcher needs MPI for several processes; torch's launcher does not.
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(num_processes),
            "--master_addr", "127.0.0.1", "--master_port", port, "-m", "doppel", *worker_args]


def launch(num_processes: int, worker_args: list[str], cuda: bool, accelerate_config: Path | None = None) -> int:
    """Run the ranks to completion; returns the exit code (0 when every rank succeeded)."""
    env = dict(os.environ, **{WORKER_ENV: "1"})
    if not cuda and "OMP_NUM_THREADS" not in os.environ:
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // num_processes))
    cmd = launch_command(num_processes, worker_args, cuda, accelerate_config)
    return subprocess.call(cmd, env=env)


def weights_digest(model) -> str:
    """A hash of every parameter's bytes, in name order."""
    h = hashlib.sha256()
    for name, p in sorted(model.named_parameters(), key=lambda item: item[0]):
        h.update(name.encode())
        h.update(p.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def rank_check(trainer) -> dict:
    """Gather each rank's weight and first-batch hashes; {} when training ran in one process."""
    if world_size() <= 1:
        return {}
    import torch.distributed as dist

    from doppel.errors import StageFailed

    batch = next(iter(trainer.get_train_dataloader()))
    if isinstance(batch, dict) and "input_ids" in batch:
        seen = batch["input_ids"].cpu().numpy().tobytes()
    else:  # e.g. GRPO batches of raw prompts
        seen = repr(batch).encode()
    first = hashlib.sha256(seen).hexdigest()[:16]
    mine = {"rank": rank(), "weights": weights_digest(trainer.model), "first_batch": first}
    every: list = [None] * world_size()
    dist.all_gather_object(every, mine)
    if len({r["weights"] for r in every}) != 1:
        raise StageFailed(f"the {world_size()} training processes ended with different weights: {every}")
    return {"processes": world_size(), "ranks": every}
