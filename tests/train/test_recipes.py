"""Training recipes lower the loss, change the weights they train and leave the rest alone."""

import pytest
import torch

from doppel.config import CPTConfig, SFTConfig
from doppel.modeling.loading import ModelSource, load_model, stage_model
from doppel.records import Example, Message, TextChunk
from doppel.train import cpt, sft
from doppel.train.env import TrainEnv
from doppel.train.packing import pack_blocks
from doppel.workspace import Workspace, atomic_write_jsonl

ENV = TrainEnv(device="cpu", bf16=False, seed=0)
ANSWERS = ["Here's the thing: the tide comes in, the tide goes out.",
           "Mark my words; a stubborn town keeps its lamps lit."]


def sft_workspace(tmp_path):
    ws = Workspace(tmp_path / "run").create()
    examples = [Example(id=f"e{i}", messages=[
        Message(role="system", content="You are Mara."),
        Message(role="user", content=f"Question {i % 2} about the sea?"),
        Message(role="assistant", content=ANSWERS[i % 2])]) for i in range(16)]
    atomic_write_jsonl(ws.data / "sft" / "train.jsonl", examples)
    return ws


def test_lora_sft_lowers_loss_and_trains_only_the_adapter(tmp_path, tiny_model_dir):
    ws = sft_workspace(tmp_path)
    cfg = SFTConfig(max_steps=12, batch_size=4, learning_rate=1e-2, logging_steps=1, save_steps=100, seq_len=128)
    result = sft.run(cfg, ModelSource("base", str(tiny_model_dir)), ENV, ws, "key")
    s = result.summary
    assert s["steps"] == 12 and s["last_loss"] < s["first_loss"] - 0.5
    src = stage_model(ws.root, "sft")
    assert src.adapter and src.path == str(tiny_model_dir)
    tuned, _ = load_model(src)
    base, _ = load_model(ModelSource("base", str(tiny_model_dir)))
    lora_b = [p for n, p in tuned.named_parameters() if "lora_B" in n]
    assert lora_b and all(p.abs().sum() > 0 for p in lora_b)  # LoRA B starts at zero
    base_weights = dict(base.named_parameters())
    for name, p in tuned.get_base_model().named_parameters():
        if "lora_" not in name:
            key = name.replace(".base_layer", "")
            assert torch.equal(p, base_weights[key]), name  # frozen weights untouched
    assert not (ws.model_dir("sft") / "checkpoints").exists()


def test_full_cpt_lowers_loss_and_changes_weights(tmp_path, tiny_model_dir):
    ws = Workspace(tmp_path / "run").create()
    chunks = [TextChunk(id=f"c{i}", source="d", text=ANSWERS[i % 2] * 3) for i in range(20)]
    atomic_write_jsonl(ws.data / "cpt" / "train.jsonl", chunks)
    cfg = CPTConfig(max_steps=10, batch_size=4, seq_len=32, learning_rate=5e-3, logging_steps=1, save_steps=100)
    result = cpt.run(cfg, ModelSource("base", str(tiny_model_dir)), ENV, ws, "key")
    assert result.summary["last_loss"] < result.summary["first_loss"] - 0.5
    tuned, _ = load_model(stage_model(ws.root, "cpt"))
    base, _ = load_model(ModelSource("base", str(tiny_model_dir)))
    changed = [n for (n, a), (_, b) in zip(tuned.named_parameters(), base.named_parameters()) if not torch.equal(a, b)]
    assert len(changed) == len(list(base.named_parameters()))


def test_packing_keeps_the_remainder_and_masks_padding(tokenizer):
    texts = ["one two three four five six seven", "eight nine"]
    blocks, stats = pack_blocks(texts, tokenizer, 8)
    total = sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) + 1 for t in texts)
    assert stats["tokens"] == total == sum(sum(b["attention_mask"]) for b in blocks)
    last = blocks[-1]
    pad = last["attention_mask"].count(0)
    assert pad == len(blocks) * 8 - total
    if pad:
        assert last["labels"][-pad:] == [-100] * pad
    assert 0 < stats["real_token_fraction"] <= 1


def test_adapter_is_refused_on_a_different_base(tmp_path, tiny_model_dir, tokenizer):
    import pytest

    from doppel.errors import UserError
    from doppel.modeling.presets import build_model

    ws = sft_workspace(tmp_path)
    cfg = SFTConfig(max_steps=2, batch_size=4, save_steps=100, seq_len=128)
    sft.run(cfg, ModelSource("base", str(tiny_model_dir)), ENV, ws, "key")
    adapter = stage_model(ws.root, "sft").adapter
    other = tmp_path / "other-base"
    build_model("small", tokenizer).save_pretrained(other)
    tokenizer.save_pretrained(other)
    with pytest.raises(UserError, match="was trained on base .* whose architecture/config differ"):
        load_model(ModelSource("sft", str(other), adapter=adapter))
    load_model(ModelSource("sft", str(tiny_model_dir), adapter=adapter))  # its own base loads


def test_freeze_trains_only_the_last_layers_and_head(tmp_path, tiny_model_dir):
    ws = sft_workspace(tmp_path)
    cfg = SFTConfig(method="freeze", train_last_layers=1, max_steps=6, batch_size=4, learning_rate=1e-2,
                    logging_steps=1, save_steps=100, seq_len=128)
    result = sft.run(cfg, ModelSource("base", str(tiny_model_dir)), ENV, ws, "key")
    assert result.summary["last_loss"] < result.summary["first_loss"]
    tuned, _ = load_model(stage_model(ws.root, "sft"))
    base, _ = load_model(ModelSource("base", str(tiny_model_dir)))
    before = dict(base.named_parameters())
    changed = {n for n, p in tuned.named_parameters() if not torch.equal(p, before[n])}
    assert any(n.startswith("model.layers.1.") for n in changed)
    assert "model.embed_tokens.weight" in changed  # tied head trains
    frozen = [n for n in before if n.startswith("model.layers.0.")]
    assert frozen and not changed & set(frozen)  # the first layer is byte-identical


def test_qlora_on_cpu_fails_with_a_clear_error(tmp_path, tiny_model_dir):
    import pytest

    from doppel.errors import UserError

    ws = sft_workspace(tmp_path)
    with pytest.raises(UserError, match="'qlora'.*needs a CUDA GPU.*Use method: lora"):
        sft.run(SFTConfig(method="qlora"), ModelSource("base", str(tiny_model_dir)), ENV, ws, "key")


def test_heldout_loss_tensorboard_curve_and_early_stopping(tmp_path, tiny_model_dir):
    import json

    from doppel.records import read_jsonl

    ws = sft_workspace(tmp_path)
    atomic_write_jsonl(ws.data / "heldout" / "dialogues.jsonl", read_jsonl(ws.data / "sft" / "train.jsonl", Example)[:4])
    # A learning rate this small cannot improve the held-out loss by the 1e-4 threshold,
    # so training stops after the first evaluation plus `patience` evaluations.
    cfg = SFTConfig(max_steps=20, batch_size=4, learning_rate=1e-9, logging_steps=1, seq_len=128,
                    eval_steps=2, early_stopping_patience=2)
    result = sft.run(cfg, ModelSource("base", str(tiny_model_dir)), ENV, ws, "key")
    assert result.summary["steps"] == 6
    history = json.loads((ws.model_dir("sft") / "log_history.json").read_text())
    assert [h["step"] for h in history if "eval_loss" in h] == [2, 4, 6]
    assert result.summary["best_heldout_loss"] == min(h["eval_loss"] for h in history if "eval_loss" in h)
    assert list((ws.model_dir("sft") / "tensorboard").glob("events.out.tfevents.*"))
    assert (ws.model_dir("sft") / "loss.png").read_bytes()[:4] == b"\x89PNG"


def test_early_stopping_without_eval_steps_is_a_config_error():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="early_stopping_patience needs eval_steps"):
        SFTConfig(early_stopping_patience=2)


def _changed(tuned, base) -> set[str]:
    before = dict(base.named_parameters())  # an untied head (after merging) is checked by the caller
    return {n for n, p in tuned.named_parameters() if n in before and not torch.equal(p, before[n])}


@pytest.mark.parametrize("stage,method", [("cpt", "full"), ("cpt", "lora"), ("cpt", "freeze"),
                                          ("sft", "full"), ("sft", "lora"), ("sft", "freeze")])
def test_every_method_on_llama_and_qwen2_trains_what_it_should(tmp_path, tiny_base, stage, method):
    """A few steps lower the loss; full changes every weight, freeze only the last layer, the
    norm and the (tied) head, LoRA only its adapter; the result saves and reloads."""
    if stage == "cpt":
        ws = Workspace(tmp_path / "run").create()
        atomic_write_jsonl(ws.data / "cpt" / "train.jsonl",
                           [TextChunk(id=f"c{i}", source="d", text=ANSWERS[i % 2] * 3) for i in range(20)])
        cfg = CPTConfig(method=method, train_last_layers=1, max_steps=8, batch_size=4, seq_len=32,
                        learning_rate=1e-2, logging_steps=1, save_steps=100)
        result = cpt.run(cfg, ModelSource("base", str(tiny_base)), ENV, ws, "key")
    else:
        ws = sft_workspace(tmp_path)
        cfg = SFTConfig(method=method, train_last_layers=1, max_steps=8, batch_size=4, seq_len=128,
                        learning_rate=1e-2, logging_steps=1, save_steps=100)
        result = sft.run(cfg, ModelSource("base", str(tiny_base)), ENV, ws, "key")
    s = result.summary
    assert s["steps"] == 8 and s["last_loss"] < s["first_loss"]
    src = stage_model(ws.root, stage)
    tuned, _ = load_model(src)  # reloads from the saved folder
    base, _ = load_model(ModelSource("base", str(tiny_base)))
    if src.adapter:  # SFT LoRA: the base stays byte-identical, the adapter learned
        assert method == "lora"
        lora_b = [p for n, p in tuned.named_parameters() if "lora_B" in n]
        assert lora_b and all(p.abs().sum() > 0 for p in lora_b)
        base_weights = dict(base.named_parameters())
        for name, p in tuned.get_base_model().named_parameters():
            if "lora_" not in name:
                assert torch.equal(p, base_weights[name.replace(".base_layer", "")]), name
        return
    changed = _changed(tuned, base)
    every = {n for n, _ in base.named_parameters()}
    if method == "full":
        assert changed == every
    elif method == "freeze":
        first = {n for n in every if n.startswith("model.layers.0.")}
        assert first and not changed & first  # the frozen layer is byte-identical
        assert any(n.startswith("model.layers.1.") for n in changed) and "model.norm.weight" in changed
    else:  # CPT LoRA is merged into a full model: the adapted projections moved, norms did not
        assert changed and all(n.endswith("proj.weight") for n in changed)
        assert not any("norm" in n for n in changed)


@pytest.mark.parametrize("method", ["full", "lora"])
def test_cpt_trains_only_chosen_token_rows_of_the_embeddings(tmp_path, tiny_base, method, tokenizer):
    from doppel.train.methods import token_rows

    ws = Workspace(tmp_path / "run").create()
    atomic_write_jsonl(ws.data / "cpt" / "train.jsonl",
                       [TextChunk(id=f"c{i}", source="d", text=ANSWERS[i % 2] * 3) for i in range(20)])
    cfg = CPTConfig(method=method, max_steps=6, batch_size=4, seq_len=32, learning_rate=1e-2, save_steps=100,
                    embedding_tokens=["tide", "lamps"], embedding_learning_rate=5e-2)
    result = cpt.run(cfg, ModelSource("base", str(tiny_base)), ENV, ws, "key")
    rows = token_rows(tokenizer, ["tide", "lamps"], "k")
    assert result.summary["embedding_rows"] == len(rows) > 0
    tuned, _ = load_model(stage_model(ws.root, "cpt"))
    base, _ = load_model(ModelSource("base", str(tiny_base)))
    for get in ("get_input_embeddings", "get_output_embeddings"):
        before, after = getattr(base, get)().weight, getattr(tuned, get)().weight
        moved = {i for i in range(before.shape[0]) if not torch.equal(before[i], after[i])}
        assert moved and moved <= set(rows), get  # chosen rows learned; every other row is byte-identical
    assert any(n.endswith("proj.weight") for n in _changed(tuned, base))  # the layers trained too


def test_cpt_embedding_learning_rate_zero_freezes_the_embeddings(tmp_path, tiny_base):
    ws = Workspace(tmp_path / "run").create()
    atomic_write_jsonl(ws.data / "cpt" / "train.jsonl",
                       [TextChunk(id=f"c{i}", source="d", text=ANSWERS[i % 2] * 3) for i in range(20)])
    cfg = CPTConfig(method="full", max_steps=4, batch_size=4, seq_len=32, learning_rate=1e-2, save_steps=100,
                    embedding_learning_rate=0.0)
    cpt.run(cfg, ModelSource("base", str(tiny_base)), ENV, ws, "key")
    tuned, _ = load_model(stage_model(ws.root, "cpt"))
    base, _ = load_model(ModelSource("base", str(tiny_base)))
    changed = _changed(tuned, base)
    assert "model.embed_tokens.weight" not in changed and "model.layers.0.mlp.up_proj.weight" in changed


def _packed_batch():
    """Two rows of two packed examples each, labels only on the answers, padding at the end."""
    ids = torch.tensor([[5, 9, 12, 7, 3, 11, 4, 8, 6, 0], [7, 7, 10, 13, 2, 5, 9, 3, 0, 0]])
    labels = torch.full_like(ids, -100)
    labels[0, 3:5], labels[0, 7:9], labels[1, 2:4], labels[1, 6:8] = ids[0, 3:5], ids[0, 7:9], ids[1, 2:4], ids[1, 6:8]
    position_ids = torch.tensor([[0, 1, 2, 3, 4, 0, 1, 2, 3, 0], [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]])
    mask = (ids != 0).long()
    return {"input_ids": ids, "labels": labels, "position_ids": position_ids, "attention_mask": mask}


def _grads(model) -> dict:
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("adapter", [False, True], ids=["full", "lora"])
def test_lean_training_forward_gives_the_models_own_loss_and_gradients(tiny_base, adapter):
    """The output layer runs only at labelled positions, yet the loss and every gradient are the
    model's own, on packed rows with padding, with and without the trainer's num_items_in_batch."""
    from doppel.modeling.lean_loss import has_plain_head, lean_training_forward, causal_lm

    model, _ = load_model(ModelSource("base", str(tiny_base)))
    if adapter:
        from peft import LoraConfig, get_peft_model

        torch.manual_seed(0)
        model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj", "down_proj"],
                                                 init_lora_weights=False))
    assert has_plain_head(causal_lm(model))
    model.train()
    batch = _packed_batch()
    for extra in ({}, {"num_items_in_batch": torch.tensor(11)}):
        model.zero_grad()
        before = model(**batch, **extra)
        before.loss.backward()
        expected = _grads(model)
        lean_training_forward(model)
        lean_training_forward(model)  # a second call does not wrap twice
        model.zero_grad()
        after = model(**batch, **extra)
        assert after.logits is None and "logits" not in after
        assert torch.allclose(after.loss, before.loss, rtol=1e-5, atol=1e-6), (after.loss, before.loss)
        after.loss.backward()
        got = _grads(model)
        assert got.keys() == expected.keys() and got
        for name in got:
            assert torch.allclose(got[name], expected[name], rtol=1e-4, atol=1e-6), name
        # undo the wrapper for the next round's reference
        causal_lm(model).__dict__.pop("forward")
        model._doppel_lean_forward = False
    lean_training_forward(model)
    assert model(input_ids=batch["input_ids"]).logits is not None  # no labels: logits kept (preference/RL)
    model.eval()
    assert model(**batch).logits is not None  # eval mode: the model's own forward


def test_a_head_that_is_not_plain_keeps_the_models_forward_without_its_logits(tiny_base):
    from doppel.modeling.lean_loss import causal_lm, has_plain_head, lean_training_forward

    model, _ = load_model(ModelSource("base", str(tiny_base)))
    model.config.final_logit_softcapping = 30.0  # as Gemma 2 has: logits are not lm_head(hidden)
    assert not has_plain_head(model)  # so the model's own forward is the one used
    model.train()
    batch = _packed_batch()
    before = model(**batch).loss
    lean_training_forward(model)
    after = model(**batch)
    assert after.logits is None and torch.equal(after.loss, before)
    assert causal_lm(model) is model


def test_stage_summary_reports_step_times(tmp_path, tiny_model_dir):
    ws = sft_workspace(tmp_path)
    cfg = SFTConfig(max_steps=5, batch_size=4, learning_rate=1e-2, logging_steps=1, save_steps=100, seq_len=128)
    summary = sft.run(cfg, ModelSource("base", str(tiny_model_dir)), ENV, ws, "key").summary
    s = summary["step_seconds"]
    assert s["timed_steps"] == 5 and s["first"] > 0 and s["median"] > 0
    per_row = summary["packing"]["tokens"] / summary["packing"]["rows"]
    assert summary["tokens_per_second"] == pytest.approx(4 * per_row / s["median"], rel=1e-3)
    assert "mfu" not in summary  # a GPU figure


def test_pretraining_measures_held_out_loss_on_kept_out_background(tmp_path, tokenizer, capsys):
    import json

    from doppel.config import ModelConfig, PretrainConfig
    from doppel.train import pretrain

    ws = Workspace(tmp_path / "run").create()
    tokenizer.save_pretrained(ws.tokenizer)
    atomic_write_jsonl(ws.data / "pretrain" / "train.jsonl",
                       [TextChunk(id=f"b{i}", source="bg", text=ANSWERS[i % 2] * 4) for i in range(30)])
    model = ModelConfig(preset="tiny")
    cfg = PretrainConfig(max_steps=6, batch_size=4, seq_len=32, learning_rate=5e-3, logging_steps=1,
                         save_steps=100, eval_steps=2)
    result = pretrain.run(cfg, model, ENV, ws, "key")  # no held-out background: said, not silent
    assert "train.pretrain.eval_steps is 2 but there are no held-out background documents" in capsys.readouterr().out
    assert result.summary["best_heldout_loss"] is None

    atomic_write_jsonl(ws.data / "heldout" / "background.jsonl",
                       [TextChunk(id="h0", source="bg", text=ANSWERS[1] * 4)])
    result = pretrain.run(cfg, model, ENV, ws, "key2")
    history = json.loads((ws.model_dir("pretrain") / "log_history.json").read_text())
    held = [h["eval_loss"] for h in history if "eval_loss" in h]
    assert [h["step"] for h in history if "eval_loss" in h] == [2, 4, 6]
    assert held[-1] < held[0] and result.summary["best_heldout_loss"] == min(held)
