"""The frozen lower layers' output, kept per row, gives the same loss and gradients as running them."""

import pytest
import torch

from doppel.modeling.loading import ModelSource, load_model


def _batch(seed: int):
    """Two packed rows (two examples each, positions restarting), labels on the answers, padding."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, 14, (2, 10), generator=gen)
    ids[0, 9] = ids[1, 8:] = 0
    labels = torch.full_like(ids, -100)
    labels[0, 3:5], labels[0, 7:9], labels[1, 2:4], labels[1, 6:8] = ids[0, 3:5], ids[0, 7:9], ids[1, 2:4], ids[1, 6:8]
    position_ids = torch.tensor([[0, 1, 2, 3, 4, 0, 1, 2, 3, 0], [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]])
    return {"input_ids": ids, "labels": labels, "position_ids": position_ids}


def _lora_last_layer(tiny_base):
    from peft import get_peft_model

    from doppel.config import LoraSettings
    from doppel.train.lora import lora_config

    model, _ = load_model(ModelSource("base", str(tiny_base)))
    torch.manual_seed(0)
    model = get_peft_model(model, lora_config(LoraSettings(r=4, last_layers=1), model=model))
    for name, p in model.named_parameters():  # non-zero B, so the adapter changes the output
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.02)
    model.train()
    return model


def _step(model, batch):
    model.zero_grad()
    out = model(**batch)
    out.loss.backward()
    return out.loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_kept_rows_skip_the_frozen_layers_with_the_same_loss_and_gradients(tiny_base):
    from doppel.modeling.lean_loss import causal_lm, lean_training_forward

    model = _lora_last_layer(tiny_base)
    batches = [_batch(1), _batch(2)]
    lean_training_forward(model)
    expected = [_step(model, b) for b in batches]  # no cache: every layer runs
    causal_lm(model).__dict__.pop("forward")
    model._doppel_lean_forward = False

    prefix = lean_training_forward(model, prefix_cache_mb=16)
    assert prefix is not None and prefix.start == model.config.num_hidden_layers - 1
    decoder = causal_lm(model).get_decoder()
    names = [n for n, _ in model.named_parameters()]
    calls = []
    decoder.layers[0].register_forward_hook(lambda *a: calls.append(1))  # the frozen first layer
    for rnd in range(2):
        for batch, (loss, grads) in zip(batches, expected):
            calls.clear()
            got_loss, got = _step(model, batch)
            assert bool(calls) == (rnd == 0)  # the frozen layer runs only the first time a row is seen
            assert torch.allclose(got_loss, loss, rtol=1e-5, atol=1e-6), (rnd, got_loss, loss)
            assert got.keys() == grads.keys() and any("lora_B" in n for n in got)
            for name in got:
                assert torch.allclose(got[name], grads[name], rtol=1e-4, atol=1e-6), name
    assert [n for n, _ in model.named_parameters()] == names  # the layers are put back after each step
    stats = prefix.stats()
    assert stats["rows_kept"] == 4 and stats["cached_steps"] == 2 and stats["full_steps"] == 2


def test_a_budget_too_small_for_a_row_keeps_nothing_and_runs_every_layer(tiny_base):
    from doppel.modeling.lean_loss import lean_training_forward

    model = _lora_last_layer(tiny_base)
    prefix = lean_training_forward(model, prefix_cache_mb=16)
    prefix.budget = 10  # bytes: less than one row's hidden states
    batch = _batch(1)
    first, _ = _step(model, batch)
    again, _ = _step(model, batch)
    assert prefix.stats()["rows_kept"] == 0 and prefix.hits == 0 and prefix.misses == 2
    assert torch.allclose(first, again)


@pytest.mark.parametrize("case", ["all_layers", "tied_head_trains", "dropout", "off"])
def test_no_cache_where_the_lower_layers_change_or_are_random(tiny_base, case):
    from peft import LoraConfig, get_peft_model

    from doppel.modeling.frozen_prefix import attach
    from doppel.train.methods import freeze_all_but_last

    model, _ = load_model(ModelSource("base", str(tiny_base)))
    budget = 16
    if case == "all_layers":
        model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    elif case == "tied_head_trains":  # freeze with a tied head: the embeddings train with the head
        assert model.config.tie_word_embeddings
        freeze_all_but_last(model, 1)
    elif case == "dropout":
        model = _lora_last_layer(tiny_base)
        model.config.attention_dropout = 0.1
    else:
        model = _lora_last_layer(tiny_base)
        budget = 0
    from doppel.modeling.lean_loss import causal_lm

    assert attach(causal_lm(model), budget) is None


def test_sft_for_two_epochs_reuses_the_kept_rows(tmp_path, tiny_model_dir):
    from doppel.config import SFTConfig
    from doppel.train import sft
    from tests.train.test_recipes import ENV, sft_workspace

    ws = sft_workspace(tmp_path)
    cfg = SFTConfig(method="lora", lora={"r": 4, "last_layers": 1}, epochs=2, batch_size=2, seq_len=128,
                    learning_rate=1e-2, logging_steps=1, save_steps=100)
    s = sft.run(cfg, ModelSource("base", str(tiny_model_dir)), ENV, ws, "key").summary
    kept = s["frozen_layer_cache"]
    assert kept["rows_kept"] > 0 and kept["cached_steps"] > 0 and kept["full_steps"] > 0
    assert s["last_loss"] < s["first_loss"]


def test_rows_that_differ_only_in_their_attention_mask_are_kept_apart():
    import torch

    from doppel.modeling.frozen_prefix import FrozenPrefix

    ids = torch.tensor([[5, 6, 7, 8], [5, 6, 7, 8]])
    pos = torch.arange(4).expand(2, 4)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    a, b = FrozenPrefix.keys(ids, pos, mask)
    assert a != b
    assert FrozenPrefix.keys(ids, pos, mask)[0] == a  # and the same row gets the same key again
    assert FrozenPrefix.keys(ids, pos)[0] == FrozenPrefix.keys(ids, pos)[1] != a
