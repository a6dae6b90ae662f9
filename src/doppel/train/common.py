"""What every training recipe shares: packing, trainer arguments, checkpoints and saving."""

from __future__ import annotations

import json
import shutil
import signal
import threading
from dataclasses import dataclass
from pathlib import Path

from doppel.config import LoraSettings, TrainStage
from doppel.errors import TrainingStopped, UserError
from doppel.modeling.device import resolve_device, use_bf16
from doppel.modeling.tokenizer import document_separator
from doppel.workspace import atomic_dir, atomic_write_json


@dataclass(frozen=True)
class TrainEnv:
    """Settings shared by all training stages of a run."""

    device: str
    bf16: bool
    seed: int

    @classmethod
    def from_config(cls, device: str, bf16: bool | str, seed: int) -> "TrainEnv":
        dev = resolve_device(device)
        return cls(dev, use_bf16(bf16, dev), seed)


def pack_blocks(texts: list[str], tokenizer, seq_len: int) -> tuple[list[dict], dict]:
    """Concatenate texts (separated by the document token) and cut blocks of `seq_len`.

    The last partial block is padded rather than dropped; its padding is masked from the
    loss. Returns the blocks and packing statistics.
    """
    sep = document_separator(tokenizer)
    ids: list[int] = []
    for enc in tokenizer(texts, add_special_tokens=False)["input_ids"]:
        ids.extend(enc)
        ids.append(sep)
    blocks = []
    for start in range(0, len(ids), seq_len):
        chunk = ids[start:start + seq_len]
        real = len(chunk)
        pad = seq_len - real
        blocks.append({
            "input_ids": chunk + [tokenizer.pad_token_id] * pad,
            "labels": chunk + [-100] * pad,
            "attention_mask": [1] * real + [0] * pad,
        })
    stats = {"tokens": len(ids), "blocks": len(blocks),
             "real_token_fraction": round(len(ids) / max(1, len(blocks) * seq_len), 4)}
    return blocks, stats


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


# How a training stage treats checkpoints left by an interrupted run of the same settings:
# "auto" resumes when there is one, "require" fails unless it can resume (doppel train --resume),
# "restart" discards them (doppel train --restart).
RESUME_POLICIES = ("auto", "require", "restart")
_resume = {"policy": "auto"}


def set_resume_policy(policy: str) -> None:
    if policy not in RESUME_POLICIES:
        raise ValueError(f"resume policy must be one of {RESUME_POLICIES}")
    _resume["policy"] = policy


def checkpoint_dir(stage_dir: Path, run_key: str) -> tuple[Path, str | None]:
    """The checkpoints folder and the last complete checkpoint to resume from, if any.

    Checkpoints are reused only if they were made with the same settings and inputs
    (`run_key`); otherwise they are cleared so a changed config starts afresh. A
    checkpoint cut short by a kill (no trainer_state.json, which the Trainer writes last)
    is removed rather than resumed from. Resuming restores the optimizer, the schedule,
    the random state and the position in the data order.
    """
    from doppel.train.distributed import barrier, is_main

    policy = _resume["policy"]
    if policy == "require":
        _resume["policy"] = "auto"  # only the first stage that runs must resume; later ones start normally
    ckpt = stage_dir / "checkpoints"
    stamp = ckpt / "doppel-run.json"
    same = stamp.exists() and json.loads(stamp.read_text()).get("run_key") == run_key
    complete = sorted((p for p in ckpt.glob("checkpoint-*") if (p / "trainer_state.json").exists()),
                      key=lambda p: int(p.name.split("-")[-1])) if same and policy != "restart" else []
    if policy == "require" and not same:
        why = ("its checkpoints were made with other settings or inputs (the config or an earlier stage "
               "changed since)" if stamp.exists() else "it has no checkpoints to resume from")
        raise UserError(f"cannot resume stage '{stage_dir.name}': {why}. Run without --resume to train it "
                        f"from the start")
    if policy == "require" and not complete:
        raise UserError(f"cannot resume stage '{stage_dir.name}': no complete checkpoint in {ckpt} (one is "
                        f"written every save_steps steps). Run without --resume to train it from the start")
    barrier()  # every rank has read the folder before rank 0 changes it
    if is_main():
        if (not same or policy == "restart") and ckpt.exists():
            shutil.rmtree(ckpt)
        ckpt.mkdir(parents=True, exist_ok=True)
        if not same or policy == "restart":
            atomic_write_json(stamp, {"run_key": run_key})
        for p in ckpt.glob("checkpoint-*"):
            if not (p / "trainer_state.json").exists():
                shutil.rmtree(p, ignore_errors=True)
    barrier()
    return ckpt, (str(complete[-1]) if complete else None)


class GracefulStop:
    """Ctrl-C during training: finish the current step, save a checkpoint, then stop.

    A second Ctrl-C aborts at once. Installed only in the main thread of the main process.
    """

    def __init__(self):
        self.requested = False
        self._previous = None

    def _handler(self, signum, frame):
        if self.requested:
            signal.signal(signal.SIGINT, self._previous or signal.default_int_handler)
            raise KeyboardInterrupt
        self.requested = True
        print("\nstopping after this step and saving a checkpoint (Ctrl-C again aborts at once)", flush=True)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


def _stop_callback(stop: GracefulStop):
    from transformers import TrainerCallback

    class StopOnRequest(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if stop.requested:
                control.should_save = True
                control.should_training_stop = True
            return control

    return StopOnRequest()


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
        trainer.add_callback(_stop_callback(stop))
        trainer.add_callback(timer)
        trainer.train(resume_from_checkpoint=resume_from)
    if stop.requested:
        step = trainer.state.global_step
        raise TrainingStopped(f"stage '{stage}' stopped at step {step} with a checkpoint saved; "
                              f"'doppel train CONFIG --stage {stage} --resume' continues from it")
    kept = {"frozen_layer_cache": prefix.stats()} if prefix is not None else {}
    return rank_check(trainer) | timer.summary() | kept


def lora_config(settings: LoraSettings, modules_to_save: list[str] | None = None, model=None):
    """LoRA on the configured modules; `modules_to_save` are trained in full (e.g. embeddings).

    New chat-template tokens are trained through the whole embedding and head
    (`modules_to_save`) rather than PEFT's `trainable_token_indices`: TRL's fused LM head reads
    `lm_head.bias`, which PEFT's trainable-tokens wrapper of a tied head does not expose.
    """
    from peft import LoraConfig

    layers, targets = None, settings.target_modules
    if settings.last_layers and model is not None:
        n_layers = model.config.num_hidden_layers
        if settings.last_layers > n_layers:
            raise UserError(f"lora.last_layers is {settings.last_layers} but the model has only {n_layers} layers")
        layers = list(range(n_layers - settings.last_layers, n_layers))
        if targets == "all-linear":  # PEFT takes a layer subset only with named modules
            targets = linear_module_names(model)
    return LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                      target_modules=targets, task_type="CAUSAL_LM",
                      modules_to_save=modules_to_save or None, layers_to_transform=layers)


def linear_module_names(model) -> list[str]:
    """The names of the decoder's linear layers, as "all-linear" would choose them (not the head)."""
    import torch

    head = model.get_output_embeddings()
    return sorted({name.split(".")[-1] for name, m in model.named_modules()
                   if isinstance(m, torch.nn.Linear) and m is not head and ".layers." in name})


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
