"""A reward model trained on the preference pairs (TRL's RewardTrainer).

The SFT model (its adapter merged in) gets a one-output sequence-classification head and a
fresh LoRA adapter; the head reads the last token of prompt + answer. It learns to score the
person's answer (chosen) above the generic one (rejected) with the Bradley-Terry loss.
Some questions are held out: the stage reports how often their chosen answer scores higher,
before training (a random head: about chance) and after.

Saved as an adapter (LoRA + head) over base + SFT adapter, like the preference stage;
`load_reward_model` rebuilds the classifier the same way and applies it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from doppel.config.train import LoraSettings, RewardModelConfig
from doppel.errors import UserError
from doppel.modeling.identity import check_identity, identity_of
from doppel.modeling.loading import ModelSource, load_model, stage_model, write_meta
from doppel.records import PreferencePair, read_jsonl
from doppel.train.arguments import callbacks, trainer_kwargs
from doppel.train.checkpoints import checkpoint_dir
from doppel.train.env import TrainEnv
from doppel.train.outputs import finish_training, save_trained
from doppel.train.running import run_training
from doppel.train.distributed import is_main
from doppel.workspace import StageResult, Workspace

# Keeps the scores near zero (TRL's recommended 0.01), so the RL reward can add them to a
# probability without one term drowning the other.
CENTER_REWARDS = 0.01


def read_pairs(ws: Workspace, section: str) -> list[PreferencePair]:
    """The preference pairs, or a UserError saying which stage makes them."""
    path = ws.data / "pref" / "train.jsonl"
    pairs = read_jsonl(path, PreferencePair) if path.exists() else []
    if not pairs:
        raise UserError(f"{section} is enabled but {path} has no preference pairs; they are written by the "
                        f"synth stage (set teacher.base_url or OPENAI_BASE_URL, with synth.preferences on), "
                        f"or set {section}.enabled: false")
    return pairs


def split_pairs(pairs: list[PreferencePair], fraction: float, seed: int) -> tuple[list, list]:
    """(train, held out): whole questions are held out, so a held-out question is never trained on.

    With a single question the pairs themselves are split.
    """
    def question(p: PreferencePair) -> str:
        return next((m.content for m in reversed(p.prompt) if m.role == "user"), "")

    groups: dict[str, list[PreferencePair]] = {}
    for p in pairs:
        groups.setdefault(question(p), []).append(p)
    units = list(groups.values()) if len(groups) > 1 else [[p] for p in pairs]
    if fraction <= 0 or len(units) < 2:
        return pairs, []
    order = sorted(range(len(units)), key=lambda i: units[i][0].id)
    random.Random(seed).shuffle(order)
    n_held = min(len(units) - 1, max(1, round(fraction * len(units))))
    held = {i for i in order[:n_held]}
    train = [p for i, u in enumerate(units) if i not in held for p in u]
    return train, [p for i in sorted(held) for p in units[i]]


def conversation(prompt: list[dict], answer: str) -> list[dict]:
    return [*prompt, {"role": "assistant", "content": answer}]


def encode(tokenizer, conv: list[dict], max_len: int) -> tuple[list[int], bool]:
    """Token ids of a whole conversation; over `max_len` the start is cut (the answer is what is scored)."""
    text = tokenizer.apply_chat_template(conv, tokenize=False)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return (ids[-max_len:], True) if len(ids) > max_len else (ids, False)


def to_classifier(causal, pad_token_id: int, seed: int):
    """A one-output sequence classifier with the causal LM's body and a new, seeded head."""
    import copy

    import torch
    from transformers import AutoModelForSequenceClassification

    config = copy.deepcopy(causal.config)
    config.num_labels = 1
    config.pad_token_id = pad_token_id
    torch.manual_seed(seed)
    seq = AutoModelForSequenceClassification.from_config(config, dtype=causal.dtype)
    seq.base_model.load_state_dict(causal.base_model.state_dict())
    return seq.to(causal.device)


def _sft_classifier(sft: ModelSource, device: str, seed: int):
    """The SFT policy (adapters merged) as a classifier, and its tokenizer."""
    causal, tokenizer = load_model(sft, device=device, dtype="float32", trainable=True)
    if sft.adapter:
        causal = causal.merge_and_unload()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    seq = to_classifier(causal, tokenizer.pad_token_id, seed)
    del causal
    return seq, tokenizer


def lora_for_head(settings: LoraSettings):
    """LoRA on the body; PEFT's SEQ_CLS task trains the `score` head in full (modules_to_save)."""
    from peft import LoraConfig

    return LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                      target_modules=settings.target_modules, task_type="SEQ_CLS")


@dataclass
class RewardScorer:
    """Scores conversations (prompt messages + the answer) with a reward model."""

    model: object
    tokenizer: object
    max_len: int

    def score(self, convs: list[list[dict]], batch_size: int = 8) -> list[float]:
        import torch

        out: list[float] = []
        pad = self.tokenizer.pad_token_id
        device = next(self.model.parameters()).device
        for start in range(0, len(convs), batch_size):
            ids = [encode(self.tokenizer, c, self.max_len)[0] for c in convs[start:start + batch_size]]
            width = max(len(i) for i in ids)
            input_ids = torch.tensor([i + [pad] * (width - len(i)) for i in ids], device=device)
            mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i in ids], device=device)
            with torch.no_grad():
                logits = self.model(input_ids=input_ids, attention_mask=mask).logits
            out += logits[:, 0].float().tolist()
        return out

    def pair_accuracy(self, pairs: list[PreferencePair]) -> dict:
        """Share of pairs whose chosen answer scores above the rejected one, and the mean margin."""
        if not pairs:
            return {"accuracy": None, "margin": None}
        prompts = [[m.model_dump() for m in p.prompt] for p in pairs]
        chosen = self.score([conversation(q, p.chosen) for q, p in zip(prompts, pairs)])
        rejected = self.score([conversation(q, p.rejected) for q, p in zip(prompts, pairs)])
        diffs = [c - r for c, r in zip(chosen, rejected)]
        return {"accuracy": round(sum(d > 0 for d in diffs) / len(diffs), 4),
                "margin": round(sum(diffs) / len(diffs), 4)}


def load_reward_model(run_root: Path, device: str = "cpu") -> RewardScorer:
    """The reward stage's model: SFT policy + head and adapter, ready to score."""
    import json

    from peft import PeftModel

    src = stage_model(run_root, "reward")
    if src is None:
        raise UserError(f"{run_root} has no reward model yet; set train.reward.enabled: true and run "
                        f"'doppel train CONFIG --stage reward'")
    check_identity(Path(src.adapter), identity_of(src.path))
    pre = src.pre_adapters
    sft = ModelSource("sft", src.path, adapter=pre[-1] if pre else None, pre_adapters=tuple(pre[:-1]))
    seq, tokenizer = _sft_classifier(sft, device, seed=0)
    model = PeftModel.from_pretrained(seq, src.adapter).to(device).eval()
    meta = json.loads((run_root / "models" / "reward" / "meta.json").read_text(encoding="utf-8"))
    return RewardScorer(model, tokenizer, meta.get("max_length", 512))


def _rows(pairs: list[PreferencePair], tokenizer, max_len: int) -> tuple[list[dict], int]:
    rows, cut = [], 0
    for p in pairs:
        prompt = [m.model_dump() for m in p.prompt]
        chosen, c1 = encode(tokenizer, conversation(prompt, p.chosen), max_len)
        rejected, c2 = encode(tokenizer, conversation(prompt, p.rejected), max_len)
        cut += c1 or c2
        rows.append({"chosen_ids": chosen, "rejected_ids": rejected})
    return rows, cut


def run(cfg: RewardModelConfig, sft: ModelSource, env: TrainEnv, ws: Workspace, run_key: str) -> StageResult:
    from datasets import Dataset
    from peft import get_peft_model
    from trl import RewardConfig, RewardTrainer

    pairs = read_pairs(ws, "train.reward")
    train_pairs, held_pairs = split_pairs(pairs, cfg.heldout_fraction, env.seed)
    stage_dir = ws.model_dir("reward")
    seq, tokenizer = _sft_classifier(sft, env.device, env.seed)
    model = get_peft_model(seq, lora_for_head(cfg.lora))
    before = RewardScorer(model, tokenizer, cfg.seq_len).pair_accuracy(held_pairs)

    train_rows, cut = _rows(train_pairs, tokenizer, cfg.seq_len)
    held_rows, cut_held = _rows(held_pairs, tokenizer, cfg.seq_len)
    eval_set = Dataset.from_list(held_rows) if held_rows and cfg.eval_steps else None
    ckpt, resume_from = checkpoint_dir(stage_dir, run_key, env.resume)
    args = RewardConfig(output_dir=str(ckpt), max_length=None, center_rewards_coefficient=CENTER_REWARDS,
                        **trainer_kwargs(cfg, env, has_eval=eval_set is not None))
    trainer = RewardTrainer(model=model, args=args, train_dataset=Dataset.from_list(train_rows),
                            eval_dataset=eval_set, processing_class=tokenizer, callbacks=callbacks(cfg, stage_dir))
    processes = run_training(trainer, resume_from, "reward")

    trainer.model.eval()
    scorer = RewardScorer(trainer.model, tokenizer, cfg.seq_len)
    after, after_train = scorer.pair_accuracy(held_pairs), scorer.pair_accuracy(train_pairs)
    save_trained(trainer, tokenizer, stage_dir / "adapter", identity_of(sft.path))
    summary = finish_training(trainer.state, stage_dir, resume_from)
    summary.update(processes)
    summary.update(pairs=len(pairs), train_pairs=len(train_pairs), heldout_pairs=len(held_pairs),
                   heldout_accuracy_before=before["accuracy"], heldout_accuracy=after["accuracy"],
                   heldout_margin_before=before["margin"], heldout_margin=after["margin"],
                   train_accuracy=after_train["accuracy"], truncated_pairs=cut + cut_held, base=sft.describe())
    if is_main():
        write_meta(stage_dir, ws.root, "adapter", "adapter", sft.path,
                   pre_adapters=[sft.adapter] if sft.adapter else [], head="reward", max_length=cfg.seq_len)
    return StageResult(summary, [stage_dir / "adapter", stage_dir / "meta.json"])
