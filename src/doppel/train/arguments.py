"""What every recipe hands its trainer: the shared training arguments and callbacks."""

from __future__ import annotations

from pathlib import Path

from doppel.config import TrainStage
from doppel.train.env import TrainEnv


def trainer_kwargs(cfg: TrainStage, env: TrainEnv, has_eval: bool = False) -> dict:
    """Keyword arguments shared by transformers' TrainingArguments and TRL's configs.

    With held-out data and `eval_steps`, the held-out loss is measured periodically; with
    early stopping the best checkpoint (lowest held-out loss) is the one kept.
    """
    evaluate = has_eval and cfg.eval_steps > 0
    extra: dict = {}
    if evaluate:
        extra.update(eval_strategy="steps", eval_steps=cfg.eval_steps, per_device_eval_batch_size=cfg.batch_size)
        if cfg.early_stopping_patience:
            # The Trainer can only reload the best model from a saved checkpoint.
            extra.update(load_best_model_at_end=True, metric_for_best_model="eval_loss",
                         greater_is_better=False, save_steps=cfg.eval_steps)
    base = dict(
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=cfg.warmup_ratio,
        weight_decay=cfg.weight_decay,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=extra.get("save_steps", cfg.save_steps),
        save_total_limit=cfg.save_total_limit,
        report_to=[],
        use_cpu=env.device == "cpu",
        bf16=env.bf16,
        seed=env.seed,
        data_seed=env.seed,
        dataloader_num_workers=0,
        gradient_checkpointing=cfg.gradient_checkpointing,
        ddp_find_unused_parameters=False,
    )
    return base | extra


def heldout_notice(cfg: TrainStage, has_eval: bool, stage: str, what: str) -> None:
    """Say so when eval_steps asks for a held-out loss that cannot be measured."""
    from doppel.train.distributed import is_main

    if cfg.eval_steps and not has_eval and is_main():
        print(f"notice: train.{stage}.eval_steps is {cfg.eval_steps} but there are no held-out {what}; "
              f"no held-out loss is measured", flush=True)


def callbacks(cfg: TrainStage, stage_dir: Path) -> list:
    """TensorBoard event files in the stage folder, and early stopping when configured."""
    from transformers import EarlyStoppingCallback

    found: list = []
    try:
        from torch.utils.tensorboard import SummaryWriter
        from transformers.integrations import TensorBoardCallback

        found.append(TensorBoardCallback(tb_writer=SummaryWriter(log_dir=str(stage_dir / "tensorboard"))))
    except ImportError:
        pass  # tensorboard is a dependency; a trimmed install still trains
    if cfg.early_stopping_patience and cfg.eval_steps:
        # Changes smaller than this are noise on small held-out sets, not improvement.
        found.append(EarlyStoppingCallback(cfg.early_stopping_patience, early_stopping_threshold=1e-4))
    return found
