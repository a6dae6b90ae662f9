"""One call that runs a recipe's trainer: resuming, the loss-only forward, Ctrl-C and step times."""

from __future__ import annotations

from doppel.errors import TrainingStopped
from doppel.train.interrupt import GracefulStop, stop_callback


def _step_timer():
    """Wall-clock time of every optimizer step (data loading, forward, backward, update, logging)."""
    import time

    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.ends: list[float] = []

        def on_step_begin(self, args, state, control, **kwargs):
            if not self.ends:
                self.ends.append(time.perf_counter())

        def on_step_end(self, args, state, control, **kwargs):
            self.ends.append(time.perf_counter())

        def summary(self) -> dict:
            steps = [b - a for a, b in zip(self.ends, self.ends[1:])]
            if not steps:
                return {}
            # The first steps pay one-off costs (allocator growth, kernel selection); the
            # median of the rest is the steady-state step time.
            steady = sorted(steps[2:] or steps)
            return {"step_seconds": {"first": round(steps[0], 4), "median": round(steady[len(steady) // 2], 4),
                                     "timed_steps": len(steps)}}

    return StepTimer()


def run_training(trainer, resume_from: str | None, stage: str, loss_only: bool = False,
                 prefix_cache_mb: int = 0) -> dict:
    """trainer.train(), resuming from `resume_from`; a Ctrl-C saves a checkpoint and raises
    TrainingStopped (the stage's model is not written, so the stage stays unfinished).

    `loss_only`: the trainer reads nothing but the loss of its labelled batches, so the output
    layer runs only at labelled positions (lean_loss.py); the preference and RL trainers read the
    logits themselves. `prefix_cache_mb`: with the lower layers frozen, keep their output per row
    (up to that many MiB) and reuse it when a row comes again (frozen_prefix.py): only when a
    row can come again (more than one epoch, or a step limit).

    Returns what the summary should add: the step times (first and steady-state median), the
    frozen-layer cache's use, and, with several processes, the ranks' agreement check.
    """
    from doppel.train.distributed import rank_check

    prefix = None
    if loss_only:
        from doppel.modeling.lean_loss import lean_training_forward

        again = trainer.args.num_train_epochs > 1 or trainer.args.max_steps > 0
        prefix = lean_training_forward(trainer.model, prefix_cache_mb if again else 0)
    timer = _step_timer()
    with GracefulStop() as stop:
        trainer.add_callback(stop_callback(stop))
        trainer.add_callback(timer)
        trainer.train(resume_from_checkpoint=resume_from)
    if stop.requested:
        step = trainer.state.global_step
        raise TrainingStopped(f"stage '{stage}' stopped at step {step} with a checkpoint saved; "
                              f"'doppel train CONFIG --stage {stage} --resume' continues from it")
    kept = {"frozen_layer_cache": prefix.stats()} if prefix is not None else {}
    return rank_check(trainer) | timer.summary() | kept
