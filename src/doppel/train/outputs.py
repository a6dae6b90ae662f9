"""What a finished training stage leaves: the saved model, its log history and loss plot, its summary."""

from __future__ import annotations

import shutil
from pathlib import Path

from doppel.workspace import atomic_dir, atomic_write_json


def save_trained(trainer, tokenizer, folder: Path, base_identity: dict | None = None) -> None:
    """Save the final model (or adapter) and tokenizer atomically into `folder`.

    An adapter is saved with its base model's identity so it is refused on another base.
    """
    from doppel.modeling.identity import write_identity
    from doppel.train.distributed import barrier, is_main

    if is_main():
        with atomic_dir(folder) as tmp:
            trainer.model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            if base_identity is not None:
                write_identity(tmp, base_identity)
    barrier()


def losses(history: list[dict]) -> list[dict]:
    return [{"step": h["step"], "loss": h["loss"]} for h in history if "loss" in h]


def finish_training(state, stage_dir: Path, resumed_from: str | None) -> dict:
    """Write the log history, drop the resume checkpoints, return the run's summary numbers.

    Called after the final model is saved: checkpoints only serve to resume an interrupted
    run, and a later forced rerun must train afresh rather than resume at the last step.
    """
    from doppel.train.distributed import is_main

    history = state.log_history
    if is_main():
        atomic_write_json(stage_dir / "log_history.json", history)
        shutil.rmtree(stage_dir / "checkpoints", ignore_errors=True)
        plot_losses(history, stage_dir / "loss.png")
    curve = losses(history)
    held = [h["eval_loss"] for h in history if "eval_loss" in h]
    return {
        "best_heldout_loss": min(held) if held else None,
        "steps": state.global_step,
        "resumed_from_checkpoint": Path(resumed_from).name if resumed_from else None,
        "first_loss": curve[0]["loss"] if curve else None,
        "last_loss": curve[-1]["loss"] if curve else None,
        "train_seconds": next((h["train_runtime"] for h in history if "train_runtime" in h), None),
    }


def plot_losses(history: list[dict], path: Path) -> bool:
    """Training (and held-out) loss against step as a PNG; False when matplotlib is absent."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    train = [(h["step"], h["loss"]) for h in history if "loss" in h]
    held = [(h["step"], h["eval_loss"]) for h in history if "eval_loss" in h]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    for points, label in ((train, "training loss"), (held, "held-out loss")):
        if points:
            ax.plot(*zip(*points), label=label, marker="." if len(points) < 30 else None)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True
