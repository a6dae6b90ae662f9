"""The LoRA alone as a GGUF adapter: llama.cpp applies it on the base GGUF and gets the merged model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from doppel.errors import UserError
from doppel.export.gguf import write_gguf
from doppel.export.gguf_lora import write_base_gguf, write_lora_gguf
from doppel.export.stage import write_lora_files
from doppel.modeling.loading import ModelSource
from doppel.modeling import llamacpp
from tests.export.models import HELDOUT, conversations

ATTENTION_MLP = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def train_lora(model, tokenizer, folder, r, alpha, targets, steps=12, seed=0, **options):
    """A few real LoRA steps on the chat examples (an SFT stand-in); saves adapter and tokenizer."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    peft = get_peft_model(model, LoraConfig(r=r, lora_alpha=alpha, target_modules=targets, **options))
    texts = [tokenizer.apply_chat_template(c, tokenize=False) for c in conversations()]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    opt = torch.optim.AdamW([p for p in peft.parameters() if p.requires_grad], lr=3e-2)
    peft.train()
    for _ in range(steps):
        peft(**batch, labels=labels).loss.backward()
        opt.step()
        opt.zero_grad()
    peft.eval()
    peft.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return peft


@pytest.fixture(scope="module", params=["llama", "qwen2"])
def stacked(request, tmp_path_factory):
    """(base folder, [sft adapter, pref adapter], merged folder): a second LoRA trained on the SFT-merged model,
    as Doppel's preference stage does. Qwen2 (untied head) also adapts the output head and the embedding."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    arch = request.param
    base = request.getfixturevalue(f"{arch}_dir")
    out = tmp_path_factory.mktemp(f"lora-{arch}")
    tokenizer = AutoTokenizer.from_pretrained(base)
    targets = ATTENTION_MLP + (["lm_head", "embed_tokens"] if arch == "qwen2" else [])
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    sft = train_lora(model, tokenizer, out / "sft", 8, 16, targets).merge_and_unload()
    # rsLoRA and per-module rank and alpha: every scale PEFT can give a module.
    pref = train_lora(sft, tokenizer, out / "pref", 4, 8, ATTENTION_MLP[:4], seed=1, use_rslora=True,
                      rank_pattern={"q_proj": 2}, alpha_pattern={"v_proj": 3})
    pref.merge_and_unload().save_pretrained(out / "merged")
    tokenizer.save_pretrained(out / "merged")
    return arch, base, [out / "sft", out / "pref"], out / "merged"


def hf_logits(folder, ids):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].numpy()


def test_llama_cpp_applies_the_adapter_like_the_merged_model(stacked, tmp_path):
    from gguf import GGUFReader
    from transformers import AutoTokenizer

    arch, base, adapters, merged = stacked
    info = write_lora_gguf(base, adapters, tmp_path / "lora.gguf")
    write_base_gguf(str(base), adapters[-1], tmp_path / "base.gguf", "f32")

    reader = GGUFReader(str(tmp_path / "lora.gguf"))
    field = lambda key: reader.fields[key].contents()  # noqa: E731
    assert (field("general.type"), field("adapter.type"), field("general.architecture")) == ("adapter", "lora", arch)
    assert field("adapter.lora.alpha") == 16.0  # the SFT adapter's alpha
    shapes = {t.name: [int(x) for x in t.shape] for t in reader.tensors}  # GGUF order: (columns, rows)
    # q_proj carries both adapters (rank 8 + 2); gate_proj only the SFT one. A is rank × in, B out × rank.
    assert shapes["blk.0.attn_q.weight.lora_a"] == [256, 10] and shapes["blk.0.attn_q.weight.lora_b"] == [10, 256]
    assert shapes["blk.0.attn_v.weight.lora_b"] == [12, 128]
    assert shapes["blk.1.ffn_gate.weight.lora_a"] == [256, 8] and shapes["blk.1.ffn_gate.weight.lora_b"] == [8, 512]
    if arch == "qwen2":  # head and embedding LoRA; llama.cpp wants the embedding's A as vocab × rank
        vocab = len(AutoTokenizer.from_pretrained(base))
        assert shapes["output.weight.lora_a"] == [256, 8] and shapes["token_embd.weight.lora_a"] == [8, vocab]
    assert info["modules"] == len(shapes) // 2

    tokenizer = AutoTokenizer.from_pretrained(merged)
    ids = tokenizer(" ".join(HELDOUT), add_special_tokens=False)["input_ids"]
    reference = hf_logits(merged, ids)
    base_only = llamacpp.load_gguf(tmp_path / "base.gguf", n_ctx=256, logits_all=True, kv_f32=True)
    assert np.abs(llamacpp.logits(base_only, ids) - reference).max() > 1.0  # the adapters change the model a lot
    with_lora = llamacpp.load_gguf(tmp_path / "base.gguf", n_ctx=256, logits_all=True, kv_f32=True,
                                   lora=tmp_path / "lora.gguf")
    lora_logits = llamacpp.logits(with_lora, ids)
    # f32 files: llama.cpp's base + adapter equals transformers' merged model (measured 1.1-1.2e-4).
    assert np.abs(lora_logits - reference).max() < 2e-3  # 1.2e-4 on an AVX-512 CPU, 1.3e-3 on an AVX2 one
    write_gguf(merged, tmp_path / "merged.gguf", "f32")
    merged_gguf = llamacpp.load_gguf(tmp_path / "merged.gguf", n_ctx=256, logits_all=True, kv_f32=True)
    assert np.abs(lora_logits - llamacpp.logits(merged_gguf, ids)).max() < 1e-3
    # The base GGUF carries the adapter folder's tokenizer and chat template.
    chat = tokenizer.apply_chat_template(conversations()[0], tokenize=False)
    assert llamacpp.tokenize(with_lora, chat) == tokenizer(chat, add_special_tokens=False)["input_ids"]
    prompt = conversations()[0][:2]
    expected = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True, return_dict=True)
    assert llamacpp.chat_tokens(with_lora, prompt) == list(expected["input_ids"])


def _edited(adapter, out, **changes):
    shutil.copytree(adapter, out)
    cfg = json.loads((out / "adapter_config.json").read_text())
    cfg.update(changes)
    (out / "adapter_config.json").write_text(json.dumps(cfg))
    return out


def test_adapters_llama_cpp_cannot_apply_are_user_errors(llama_dir, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    def adapter(folder, targets):  # untrained: the refusals are about structure, not values
        model = AutoModelForCausalLM.from_pretrained(llama_dir)
        get_peft_model(model, LoraConfig(r=2, target_modules=targets)).save_pretrained(folder)
        AutoTokenizer.from_pretrained(llama_dir).save_pretrained(folder)
        return folder

    plain = adapter(tmp_path / "plain", ATTENTION_MLP)
    cases = {"modules_to_save": {"modules_to_save": ["embed_tokens", "lm_head"]}, "use_dora": {"use_dora": True},
             "lora_bias": {"lora_bias": True}, "peft_type": {"peft_type": "IA3"}}
    for key, change in cases.items():
        with pytest.raises(UserError, match=f"adapter_config.json: {key} .*export.lora_gguf: false"):
            write_lora_gguf(llama_dir, [_edited(plain, tmp_path / key, **change)], tmp_path / "x.gguf")
    # The Llama ties its head to the embedding: llama.cpp reads them as one tensor.
    with pytest.raises(UserError, match="ties the output head"):
        write_lora_gguf(llama_dir, [adapter(tmp_path / "head", ["lm_head"])], tmp_path / "x.gguf")
    # A module the base model does not have: the adapter belongs to another base.
    with pytest.raises(UserError, match=r"'model\.layers\.1\.[a-z_.]+', which the base model .* does not have"):
        write_lora_gguf(_shortened_base(llama_dir, tmp_path), [plain], tmp_path / "x.gguf")
    assert not (tmp_path / "x.gguf").exists() and not list(tmp_path.glob(".*.tmp"))
    # Tokens added in fine-tuning live only in the merged model's embeddings.
    tok = AutoTokenizer.from_pretrained(plain)
    tok.add_tokens([f"<extra{i}>" for i in range(600)])
    tok.save_pretrained(plain)
    with pytest.raises(UserError, match="vocab_size"):
        write_base_gguf(str(llama_dir), plain, tmp_path / "b.gguf")
    # A fully fine-tuned model has no adapter to write.
    with pytest.raises(UserError, match="no LoRA adapter.*export.lora_gguf: false"):
        write_lora_files(ModelSource("sft", str(llama_dir)), tmp_path, "run")


def _shortened_base(base, tmp_path):
    """The same weights with one layer fewer: the adapter's layer-1 modules are missing there."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base)
    model.model.layers = model.model.layers[:1]
    model.config.num_hidden_layers = 1
    model.save_pretrained(tmp_path / "short")
    return tmp_path / "short"
