"""A fine-tuned copy of the bundled SmolLM2-135M-Instruct through Doppel's GGUF writer into llama.cpp.

The copy takes one optimizer step (so its weights are no longer the bundled file's), is saved as an
HF folder, written as f16 GGUF and quantized to q8_0 once per module; the tests check what a user of
those files gets: the same tokens as the HF tokenizer, the same logits, and a parity gate that passes
the faithful files and fails a broken one.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from doppel.config import ParitySettings
from doppel.export.gguf import write_gguf
from doppel.export.parity import run_gate
from doppel.export.quantize import quantize
from doppel.modeling import llamacpp

SYSTEM = "You are Mara Quell, a lighthouse keeper on a stubborn island."
EXAMPLE = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Who are you?"},
           {"role": "assistant", "content": "Mara Quell. I keep the lamp lit and mend nets — always have."}]
# Held-out text the step never saw: accents, dashes, quotes, CJK, emoji (with modifiers and joiners),
# numbers of every length, odd whitespace, other scripts, code, and special tokens inside text.
HELDOUT = [
    "Here's the thing: the tide comes in at 5:45, goes out by 12:10 — always has.",
    "Café crème, naïve façade, Ærøskøbing and São Paulo; “quoted” «guillemets» ‘single’.",
    "東京タワーは333メートル。你好，世界！한국어도 조금. Привет, мир. Γειά σου. مرحبا. नमस्ते।",
    "Emoji: 🙂👍🏽 👩‍👩‍👧 🇳🇴 ✓ ★ — and ½ + ¾ = 1¼, x² + y² = z², π ≈ 3.14159.",
    "Numbers: 7 42 365 2024 1234567 1,000,000.50 0.001 -17 +3 #12 v1.2.3 2024-05-06 (555) 010-9999.",
    "Lines\nsplit\n\nby blank lines\r\nand CRLF,\ttabs\t\tand   runs  of spaces   ",
    "   leading spaces, I'M SHOUTING, we'll see, they've gone, it's done, DON'T.",
    "def mend(net):\n    return [knot for knot in net if knot.holds()]  # 4 spaces\n",
    "<|im_start|>user\nWhat do you mend?<|im_end|>\n<|im_start|>assistant\nNets.<|im_end|>\n",
]


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """transformers on one thread: on a shared 2-core machine, two threads fighting other processes made
    each forward pass of this model 5-20x slower (0.2 s → 1-4 s for 32 tokens)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

# Plain held-out prose for the parity gate, where top-1 agreement measures the file rather than near-ties.
GATE_TEXTS = [
    "The committee reviewed the annual report and approved the budget for the new harbour wall.",
    "Every morning she climbed the stairs of the lighthouse, cleaned the lamp and wrote the weather in her log.",
    "Fishing boats left the harbour before dawn and came back in the afternoon with their nets full.",
]


def published_tokenizer(tokenizer):
    """The tokenizer with SmolLM2's published pre-tokenizer: digits split one by one, then GPT-2's byte-level
    regex (the model's tokenizer.json on the hub; llama.cpp calls it "smollm"). transformers' GGUF loader
    rebuilds it as plain ByteLevel; restore it where that happened (a no-op once the base folder has it)."""
    spec = json.loads(tokenizer.backend_tokenizer.to_str()).get("pre_tokenizer") or {}
    if spec.get("type") == "ByteLevel":
        from tokenizers import pre_tokenizers

        tokenizer = copy.deepcopy(tokenizer)
        tokenizer.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True),
             pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    return tokenizer


def one_step(model, tokenizer):
    """A copy of `model` after one SGD step on EXAMPLE; (copy, loss before, loss after)."""
    tuned = copy.deepcopy(model).train()
    ids = torch.tensor([tokenizer.apply_chat_template(EXAMPLE, tokenize=True, return_dict=True)["input_ids"]])
    loss = tuned(input_ids=ids, labels=ids).loss
    loss.backward()
    torch.optim.SGD(tuned.parameters(), lr=2e-3).step()
    tuned.zero_grad(set_to_none=True)
    tuned.eval()
    with torch.no_grad():
        after = tuned(input_ids=ids, labels=ids).loss
    return tuned, loss.item(), after.item()


@pytest.fixture(scope="module")
def tuned(smollm2, tmp_path_factory):
    """(model, tokenizer, HF folder, f16 GGUF, q8_0 GGUF, writer summary) of the fine-tuned copy."""
    model, tokenizer = smollm2
    tokenizer = published_tokenizer(tokenizer)
    tuned_model, before, after = one_step(model, tokenizer)
    assert after < before  # the step fine-tuned it (measured 3.36 → 2.92)
    out = tmp_path_factory.mktemp("smollm2-tuned")
    tuned_model.save_pretrained(out / "hf")
    tokenizer.save_pretrained(out / "hf")
    info = write_gguf(out / "hf", out / "f16.gguf", "f16")
    quantize(out / "f16.gguf", out / "q8_0.gguf", "q8_0")
    return tuned_model, tokenizer, out / "hf", out / "f16.gguf", out / "q8_0.gguf", info


def test_the_gguf_tokenizes_exactly_like_the_hf_tokenizer(tuned):
    model, tokenizer, folder, f16, _, info = tuned
    assert info["tokenizer_model"] == "gpt2" and info["pre_tokenizer"] == "smollm"
    assert info["tokens"] == 49152 and info["eos_id"] == tokenizer.eos_token_id
    from transformers import AutoTokenizer

    saved = AutoTokenizer.from_pretrained(folder)  # what the exported folder's users load
    llm = llamacpp.load_gguf(f16, n_ctx=64)
    try:
        for text in HELDOUT:
            expected = tokenizer(text, add_special_tokens=False)["input_ids"]
            assert saved(text, add_special_tokens=False)["input_ids"] == expected
            assert llamacpp.tokenize(llm, text) == expected, text
        # The chat template stored in the GGUF renders the same prompt tokens.
        prompt = EXAMPLE[:2]
        hf_chat = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True, return_dict=True)
        assert llamacpp.chat_tokens(llm, prompt) == list(hf_chat["input_ids"])
        # Digits go one at a time, as SmolLM2's pre-tokenizer splits them.
        assert llamacpp.tokenize(llm, "1234") == [tokenizer.convert_tokens_to_ids(d) for d in "1234"]
    finally:
        llm.close()


def test_f16_logits_match_transformers_in_float32(tuned, tmp_path):
    """The f32 file equals transformers (the writer loses nothing: measured 6e-5). The f16 file differs by
    what f16 arithmetic does to a real model: llama.cpp rounds both the weights and, for every f16 matrix
    product, the activations to f16; with logits up to ~35 that moves them by up to ~0.1 (measured
    0.087-0.095, mean 0.008-0.011), under 1% of the logits' range, and never changes the top token."""
    model, tokenizer, folder, f16, _, _ = tuned
    ids = tokenizer(HELDOUT[0] + " " + HELDOUT[1], add_special_tokens=False)["input_ids"][:40]
    with torch.no_grad():
        reference = model(torch.tensor([ids])).logits[0].numpy()
    write_gguf(folder, tmp_path / "f32.gguf", "f32")
    for path, bar in ((tmp_path / "f32.gguf", 1e-3), (f16, 1e-2 * np.abs(reference).max())):
        llm = llamacpp.load_gguf(path, n_ctx=64, logits_all=True, kv_f32=True)
        try:
            got = llamacpp.logits(llm, ids)
        finally:
            llm.close()
        diff = np.abs(got - reference)
        assert diff.max() < bar, (path.name, diff.max())
        assert diff.mean() < 2e-2, (path.name, diff.mean())
        assert (got.argmax(-1) == reference.argmax(-1)).mean() >= 0.95


def broken_copy(source, out):
    """The f16 file with noise on every matrix, through the gguf package's writable memory map."""
    import shutil

    from gguf import GGUFReader

    shutil.copyfile(source, out)
    rng = np.random.default_rng(0)
    for tensor in GGUFReader(str(out), "r+").tensors:
        if tensor.data.ndim == 2:
            data = tensor.data
            scale = float(data.astype(np.float32).std()) * 0.5  # float16 sums of squares would overflow
            data += (rng.standard_normal(data.shape) * scale).astype(data.dtype)
    return out


def test_q8_0_passes_the_parity_gate_and_a_broken_file_fails(tuned, tmp_path):
    model, tokenizer, _, f16, q8_0, _ = tuned
    files = {"q8_0": str(q8_0), "broken": str(broken_copy(f16, tmp_path / "broken.gguf"))}
    # Few positions: on CPUs with AMX llama.cpp reads quantized files one token at a time (llamacpp.micro_batch).
    prompts = [[{"role": "system", "content": "You are Mara."}, {"role": "user", "content": "Who are you?"}]]
    cfg = ParitySettings(max_tokens_per_text=16, max_new_tokens=8, min_likeness_ratio=None)
    result = run_gate(model, tokenizer, files, GATE_TEXTS, prompts, cfg)
    rows = result["files"]
    row = rows["q8_0"]
    assert row["passed"], row["failures"]
    assert row["tokenization_equal"] and row["chat_template_equal"]
    assert row["ppl_ratio"] < 1.05 and row["mean_kl"] < 0.05, row  # measured 1.028 and 0.0068
    bad = rows["broken"]
    assert not bad["passed"] and bad["tokenization_equal"]
    assert any(f.startswith("mean KL") for f in bad["failures"]), bad["failures"]
    assert bad["mean_kl"] > 10 * rows["q8_0"]["mean_kl"]


def test_the_gguf_rung_scores_held_out_text_as_the_hf_rung_does(tuned):
    """Both rungs put SmolLM2's <|endoftext|> before each text (its unknown token is that same token,
    which once sent the HF side to <|im_end|> and made the GGUF rung's perplexity ~5% lower)."""
    from doppel.config import GenerationSettings
    from doppel.evaluate.gguf_model import GGUFModel
    from doppel.evaluate.perplexity import text_perplexity
    from doppel.modeling.tokenizer import document_separator

    model, tokenizer, _, f16, _, _ = tuned
    assert document_separator(tokenizer) == tokenizer.convert_tokens_to_ids("<|endoftext|>") == 0
    texts = HELDOUT[:2] + GATE_TEXTS
    hf = text_perplexity(model, tokenizer, texts, 8)["perplexity"]
    with GGUFModel(f16, GenerationSettings()) as rung:
        assert rung._separator() == 0
        gguf = rung.text_perplexity(texts)
    assert abs(gguf / hf - 1) < 0.01, (gguf, hf)  # f16 against float32
