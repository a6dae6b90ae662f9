"""Which checkpoint a training stage resumes from, and clearing the ones it must not reuse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from doppel.errors import UserError
from doppel.workspace import atomic_write_json

# How a training stage treats checkpoints left by an interrupted run of the same settings:
# "auto" resumes when there is one, "require" fails unless it can resume (doppel train --resume),
# "restart" discards them (doppel train --restart).
RESUME_CHOICES = ("auto", "require", "restart")
STAMP = "doppel-run.json"  # in the checkpoints folder: the run key its checkpoints were made with


def checkpoint_dir(stage_dir: Path, run_key: str, resume: str) -> tuple[Path, str | None]:
    """The checkpoints folder and the last complete checkpoint to resume from, if any.

    Checkpoints are reused only if they were made with the same settings and inputs
    (`run_key`); otherwise they are cleared so a changed config starts afresh. A
    checkpoint cut short by a kill (no trainer_state.json, which the Trainer writes last)
    is removed rather than resumed from. Resuming restores the optimizer, the schedule,
    the random state and the position in the data order. `resume` is one of RESUME_CHOICES.
    """
    if resume not in RESUME_CHOICES:
        raise ValueError(f"resume must be one of {RESUME_CHOICES}, not {resume!r}")
    ckpt = stage_dir / "checkpoints"
    stamp = ckpt / STAMP
    same = stamp.exists() and json.loads(stamp.read_text()).get("run_key") == run_key
    complete = sorted((p for p in ckpt.glob("checkpoint-*") if (p / "trainer_state.json").exists()),
                      key=lambda p: int(p.name.split("-")[-1])) if same and resume != "restart" else []
    if resume == "require":
        _check_resumable(stage_dir.name, ckpt, stamp.exists(), same, bool(complete))
    _tidy(ckpt, fresh=not same or resume == "restart", run_key=run_key)
    return ckpt, (str(complete[-1]) if complete else None)


def _check_resumable(stage: str, ckpt: Path, stamped: bool, same: bool, complete: bool) -> None:
    if not same:
        why = ("its checkpoints were made with other settings or inputs (the config or an earlier stage "
               "changed since)" if stamped else "it has no checkpoints to resume from")
        raise UserError(f"cannot resume stage '{stage}': {why}. Run without --resume to train it "
                        f"from the start")
    if not complete:
        raise UserError(f"cannot resume stage '{stage}': no complete checkpoint in {ckpt} (one is "
                        f"written every save_steps steps). Run without --resume to train it from the start")


def _tidy(ckpt: Path, fresh: bool, run_key: str) -> None:
    """Rank 0 clears the folder when starting afresh and drops checkpoints a kill cut short.

    Every rank has read the folder before rank 0 changes it, and none goes on before it is done.
    """
    from doppel.train.distributed import barrier, is_main

    barrier()
    if is_main():
        if fresh and ckpt.exists():
            shutil.rmtree(ckpt)
        ckpt.mkdir(parents=True, exist_ok=True)
        if fresh:
            atomic_write_json(ckpt / STAMP, {"run_key": run_key})
        for p in ckpt.glob("checkpoint-*"):
            if not (p / "trainer_state.json").exists():
                shutil.rmtree(p, ignore_errors=True)
    barrier()

