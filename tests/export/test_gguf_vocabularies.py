"""Vocabularies other than Doppel's own in the GGUF writer: SentencePiece-style byte-fallback BPE (Llama 2,
Mistral, Gemma) and every byte-level splitter the writer recognises, each checked against llama.cpp."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from doppel.errors import UserError
from doppel.export.gguf import write_gguf
from doppel.export.gguf_pretok import REFERENCES, behaviour, build, pre_tokenizer_name
from doppel.export.gguf_spm import space_prefix, spm_tables
from doppel.modeling import llamacpp
from tests.export.models import HELDOUT, llama_config, persona_paragraphs, sentencepiece_tokenizer, unigram_tokenizer

# Characters the tokenizers never saw (byte fallback in SentencePiece style), leading, doubled and trailing
# spaces, tabs, newlines, digits, and special tokens in the middle of text.
TEXTS = [*HELDOUT, *persona_paragraphs(777, 3),
         "Ünïcødé ß ø 😀 ✓ — “quotes” 東京タワー 日本語のテキスト, Ærø ½ x²",
         " leading space", "  two leading", "trailing  ", "\n", "Lines\nand\ttabs,  double  spaces.\n\n",
         "Numbers 7 42 365 2024 1234567 and 3.14159; I'M SURE we'll see.",
         "<|im_start|>user\nWhat do you mend?<|im_end|>\n<|im_start|>assistant\nNets.<|im_end|>\n",
         "x<s>y</s> z"]


def save_fresh_llama(tokenizer, folder):
    """A freshly initialised tiny Llama for the tokenizer, saved with it."""
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(llama_config(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def assert_same_tokens(llm, tokenizer, texts):
    for text in texts:
        assert llamacpp.tokenize(llm, text) == tokenizer(text, add_special_tokens=False)["input_ids"], text


@pytest.fixture(scope="module", params=["legacy", "none"])
def spm_model(request, tmp_path_factory):
    """(prefix kind, folder) of a tiny Llama with a SentencePiece-style tokenizer; Llama 2 / Mistral chat
    templates start with the BOS token, so this one does too."""
    tokenizer = sentencepiece_tokenizer(prefix=request.param)
    tokenizer.chat_template = "{{- bos_token }}" + tokenizer.chat_template
    return request.param, save_fresh_llama(tokenizer, tmp_path_factory.mktemp(f"spm-{request.param}"))


def test_sentencepiece_vocabulary_round_trip(spm_model, tmp_path):
    from gguf import GGUFReader, TokenType
    from transformers import AutoModelForCausalLM, AutoTokenizer

    prefix, folder = spm_model
    tokenizer = AutoTokenizer.from_pretrained(folder)
    info = write_gguf(folder, tmp_path / "f32.gguf", "f32")
    assert info["tokenizer_model"] == "llama" and info["add_space_prefix"] == (prefix == "legacy")

    fields = GGUFReader(str(tmp_path / "f32.gguf")).fields
    types = list(fields["tokenizer.ggml.token_type"].data)
    kinds = {t: int(fields["tokenizer.ggml.token_type"].parts[types[tokenizer.convert_tokens_to_ids(t)]][0])
             for t in ("<unk>", "<s>", "<|im_end|>", "<0x0A>", "▁the")}
    assert kinds == {"<unk>": TokenType.UNKNOWN, "<s>": TokenType.CONTROL, "<|im_end|>": TokenType.CONTROL,
                     "<0x0A>": TokenType.BYTE, "▁the": TokenType.NORMAL}

    llm = llamacpp.load_gguf(tmp_path / "f32.gguf", n_ctx=512, logits_all=True, kv_f32=True)
    try:
        assert_same_tokens(llm, tokenizer, TEXTS)
        assert llamacpp.add_bos(llm)  # the tokenizer puts <s> first, so llama.cpp does too
        prompt = [{"role": "user", "content": "What do you mend?"}]
        rendered = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
        assert rendered == llamacpp.chat_prompt(llm, prompt)
        assert_same_tokens(llm, tokenizer, [rendered])

        ids = tokenizer(" ".join(HELDOUT))["input_ids"]  # with its BOS, as the model runs
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
        with torch.no_grad():
            reference = model(torch.tensor([ids])).logits[0].numpy()
        assert np.abs(llamacpp.logits(llm, ids) - reference).max() < 1e-3  # measured 3.8e-4
    finally:
        llm.close()
    write_gguf(folder, tmp_path / "f16.gguf", "f16")
    f16 = llamacpp.load_gguf(tmp_path / "f16.gguf", n_ctx=512, logits_all=True, kv_f32=True)
    try:
        assert np.abs(llamacpp.logits(f16, ids) - reference).max() < 1e-2
    finally:
        f16.close()


def test_unigram_vocabulary_round_trip(tmp_path):
    """A Unigram vocabulary is written as llama.cpp's "t5" tokenizer: same search, same scores, same <unk>."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = save_fresh_llama(unigram_tokenizer(), tmp_path / "m")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    info = write_gguf(folder, tmp_path / "m.gguf", "f32")
    assert info["tokenizer_model"] == "t5" and info["add_space_prefix"]
    assert tokenizer("Ünïcødé 😀", add_special_tokens=False)["input_ids"].count(tokenizer.unk_token_id) >= 1
    llm = llamacpp.load_gguf(tmp_path / "m.gguf", n_ctx=512, logits_all=True, kv_f32=True)
    try:
        assert_same_tokens(llm, tokenizer, TEXTS + persona_paragraphs(4242, 20))
        ids = tokenizer(" ".join(HELDOUT), add_special_tokens=False)["input_ids"]
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
        with torch.no_grad():
            reference = model(torch.tensor([ids])).logits[0].numpy()
        assert np.abs(llamacpp.logits(llm, ids) - reference).max() < 1e-3
    finally:
        llm.close()


def test_sentencepiece_scores_follow_the_merge_order():
    tokenizer = sentencepiece_tokenizer()
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    tokens, scores, _ = spm_tables(spec, len(tokenizer) + 2, "x")
    first = {}
    for rank, (left, right) in enumerate(m if isinstance(m, list) else m.split(" ", 1)
                                         for m in spec["model"]["merges"]):
        first.setdefault(left + right, rank)
    for text, rank in first.items():
        assert scores[tokens.index(text)] == -rank
    assert tokens[-2:] == [f"[PAD{len(tokenizer)}]", f"[PAD{len(tokenizer) + 1}]"]


def test_sentencepiece_vocabularies_llama_cpp_cannot_read_are_user_errors():
    from tokenizers import normalizers

    tokenizer = sentencepiece_tokenizer()
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    spec["model"]["vocab"].pop("<0x41>")
    with pytest.raises(UserError, match="lacks 1 of the 256 byte tokens"):
        spm_tables(spec, len(tokenizer), "x")
    backend = tokenizer.backend_tokenizer
    backend.normalizer = normalizers.Sequence([normalizers.Lowercase(), backend.normalizer])
    with pytest.raises(UserError, match="only replaces spaces"):
        space_prefix(backend, "x")


def test_the_probes_tell_every_known_splitter_apart():
    seen = {name: behaviour(build(spec)) for name, spec in REFERENCES.items()}
    assert len({json.dumps(b) for b in seen.values()}) == len(REFERENCES)
    # Another spelling of the same behaviour gets the same name: GPT-2's regex as an explicit Split.
    from doppel.export.gguf_pretok import GPT2_PATTERN

    split = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": GPT2_PATTERN}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}
    assert pre_tokenizer_name(split, "x") == "gpt-2"


def varied_lines(seed: int, count: int) -> list[str]:
    """Lines full of what the splitters treat differently: numbers of 1-9 digits, contractions in capitals,
    punctuation before words, runs of spaces, tabs and newlines. Trained on, they give the vocabulary merges
    that only the right splitter reproduces (written under another splitter's name, 14-42 of these texts
    tokenize differently in llama.cpp)."""
    import random

    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        n = rng.randint(0, 10 ** rng.randint(1, 9))
        lines.append(rng.choice([
            f"Call ({n}) at {rng.randint(0, 23)}:{rng.randint(10, 59)}, I'M SURE WE'LL pay ${n}.\n\n  indented",
            f"'quoted' (parenthesised) \"{n}\" — it's {n % 97} o'clock;\n\tTabbed {n}!\r\n",
            f"x{n}y {n}{n} ...and THEY'VE gone,\n   spaced   out   {n}"]))
    return lines


def byte_level_tokenizer(pre_tokenizer: dict):
    """A byte-level BPE trained with the given pre-tokenizer on persona text, varied lines and the test texts."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from doppel.modeling.tokenizer import CHATML_TEMPLATE, IM_END, IM_START

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = build(pre_tokenizer)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, min_frequency=1, special_tokens=["<|endoftext|>", IM_START, IM_END],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(persona_paragraphs(0, 150) + varied_lines(0, 400) + TEXTS[:-2], trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token=IM_END,
                                   additional_special_tokens=[IM_START])
    fast.chat_template = CHATML_TEMPLATE
    return fast


@pytest.mark.parametrize("name", list(REFERENCES))
def test_each_recognised_splitter_tokenizes_in_llama_cpp_as_in_hf(name, tmp_path):
    tokenizer = byte_level_tokenizer(REFERENCES[name])
    folder = save_fresh_llama(tokenizer, tmp_path / "m")
    info = write_gguf(folder, tmp_path / "m.gguf", "f32")
    assert info["tokenizer_model"] == "gpt2" and info["pre_tokenizer"] == name
    llm = llamacpp.load_gguf(tmp_path / "m.gguf", n_ctx=64)
    try:
        assert_same_tokens(llm, tokenizer, TEXTS + persona_paragraphs(4242, 10) + varied_lines(4242, 40))
    finally:
        llm.close()
