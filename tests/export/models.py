"""Small trained Llama and Qwen2 models for the GGUF tests, built from configs (no downloads).

Hidden size 256 so every K-quant's 256-wide blocks cover each row. A few hundred steps of
plain next-token training on chat examples make the models confident (so quantization
parity is a meaningful test) and teach them to end each answer with <|im_end|>.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SAMPLE_TEXT

SYSTEM = "You are Mara Quell."
QUESTIONS = ["What do you mend?", "Tell me about the lamps.", "What did the committee do?",
             "What about the library?"]
ANSWERS = ["Here's the thing: I mend nets — always have.",
           "Mark my words; a stubborn town keeps its lamps lit.",
           "The committee approved the proposed budget for the harbour.",
           "The regional library extended its opening hours."]
# Text the models never saw, in the same words and style: for parity measured held-out.
HELDOUT = ["Here's the thing: a stubborn committee mends what the harbour replaced.",
           "Mark my words; the tide keeps the library lamps lit during the winter months.",
           "Observers noted the annual budget for nets — always the proposed one.",
           "Why would anyone replace the regional report? I mend it, always have."]


def conversations() -> list[list[dict]]:
    return [[{"role": "system", "content": SYSTEM}, {"role": "user", "content": q},
             {"role": "assistant", "content": a}] for q, a in zip(QUESTIONS, ANSWERS)]


def llama_config(tokenizer, **kw):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=len(tokenizer), hidden_size=256, intermediate_size=512,
                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                       max_position_embeddings=512, tie_word_embeddings=True,
                       bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                       pad_token_id=tokenizer.pad_token_id, **kw)


def qwen2_config(tokenizer, **kw):
    from transformers import Qwen2Config

    return Qwen2Config(vocab_size=len(tokenizer), hidden_size=256, intermediate_size=512,
                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                       max_position_embeddings=512, tie_word_embeddings=False, rope_theta=1e6,
                       bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                       pad_token_id=tokenizer.pad_token_id, **kw)


def train_and_save(config, tokenizer, folder: Path, steps: int = 240, seed: int = 0) -> Path:
    """Train a fresh model on the chat examples and sample text, save it with the tokenizer.

    Enough steps that greedy decoding gives back every answer and stops: 80 did on one
    machine (Xeon, AVX-512) and not on another (EPYC, AVX2, transformers 5.24); 160 did on both
    but left the Qwen2 model 1 answer of 4 on a third (EPYC, AVX-512); 240 gives 4 of 4 there.
    """
    import torch
    from transformers import AutoModelForCausalLM

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small matrices: one thread is faster than two fighting other processes
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    texts = [tokenizer.apply_chat_template(c, tokenize=False) for c in conversations()]
    texts += sorted(set(SAMPLE_TEXT))
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-3)
    model.train()
    for _ in range(steps):
        loss = model(**batch, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    torch.set_num_threads(threads)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def persona_paragraphs(seed: int, count: int) -> list[str]:
    """Paragraphs in the demo persona's voice from Doppel's demo generator; another seed gives held-out text."""
    import random

    from doppel.demo.persona import TOPICS, paragraph

    rng = random.Random(seed)
    return [paragraph(rng, rng.choice(TOPICS)) for _ in range(count)]


def train_language_model(config, tokenizer, folder: Path, steps: int = 600, seed: int = 0) -> Path:
    """A tiny model trained as a language model rather than a memoriser, for quantization agreement.

    About 100k tokens of generated persona text in random 128-token windows, AdamW with weight decay,
    warm-up and linear decay; bf16 autocast only where the CPU has native bf16 (emulated bf16 on an
    AVX2-only CPU is several times slower than float32). Its held-out predictions are confident
    where the text is predictable and close only where the text itself is ambiguous (the generator picks
    among equally likely words), unlike `train_and_save`'s models, which only ever saw eight texts.
    """
    import torch
    from transformers import AutoModelForCausalLM

    from doppel.modeling.device import cpu_has_bf16

    bf16 = cpu_has_bf16()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    texts = [tokenizer.apply_chat_template(c, tokenize=False) for c in conversations()]
    texts += persona_paragraphs(seed, 400)
    stream = [i for t in texts for i in tokenizer(t, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]]
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.1)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1, (s + 1) / 20) * max(0.1, 1 - s / steps))
    windows = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        starts = torch.randint(0, len(stream) - 129, (16,), generator=windows).tolist()
        batch = torch.tensor([stream[i:i + 128] for i in starts])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        opt.step()
        schedule.step()
        opt.zero_grad()
    model.eval()
    torch.set_num_threads(threads)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


SPM_TEXTS = [*sorted(set(SAMPLE_TEXT)), *ANSWERS, "Café naïve — 東京 🙂 Ærøskøbing, 1234 and 56.",
             "Lines\nand\ttabs,  double  spaces."]


def sentencepiece_tokenizer(vocab_size: int = 420, prefix: str = "legacy"):
    """A SentencePiece-style tokenizer (as Llama 2 and Mistral ship it) trained on a few sentences: a BPE
    with byte fallback over `▁`-for-space text, the 256 `<0x..>` byte tokens after <unk>, <s> and </s>, a
    BOS added to each text, and ChatML tokens for the chat template.

    prefix: "legacy" puts `▁` before every stretch of text (Llama 2's Prepend normalizer), "none" puts none
    (Gemma's normalizer).
    """
    import json

    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    from doppel.modeling.tokenizer import CHATML_TEMPLATE, IM_END, IM_START

    space = [normalizers.Replace(" ", "\u2581")]
    normalizer = normalizers.Sequence(([normalizers.Prepend("\u2581")] if prefix == "legacy" else []) + space)
    trained = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True))
    trained.normalizer = normalizer
    # Learned within words, as SentencePiece does: `▁` only ever starts a piece.
    trained.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="never", split=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - 256, special_tokens=["<unk>", "<s>", "</s>"],
                                  min_frequency=1, show_progress=False)
    trained.train_from_iterator(SPM_TEXTS, trainer=trainer)
    learned = json.loads(trained.to_str())["model"]
    # Llama's layout: <unk> <s> </s>, then <0x00>…<0xFF>, then the learned pieces.
    specials = ["<unk>", "<s>", "</s>"]
    order = specials + [f"<0x{b:02X}>" for b in range(256)]
    order += [t for t, _ in sorted(learned["vocab"].items(), key=lambda kv: kv[1]) if t not in specials]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1)) for m in learned["merges"]]
    tok = Tokenizer(models.BPE({t: i for i, t in enumerate(order)}, merges, unk_token="<unk>",
                               byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizer
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()]
                                    + ([decoders.Strip(" ", 1, 0)] if prefix == "legacy" else []))
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in [*specials, IM_START, IM_END]])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", 1)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token=IM_END, unk_token="<unk>",
                                   pad_token="</s>", additional_special_tokens=[IM_START], model_max_length=4096)
    fast.chat_template = CHATML_TEMPLATE
    return fast


def unigram_tokenizer(vocab_size: int = 500):
    """A SentencePiece Unigram tokenizer (as T5-style and some chat models ship it): pieces with
    log-probability scores, `▁` for spaces and before each stretch of text, <unk> for unseen characters."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from doppel.modeling.tokenizer import CHATML_TEMPLATE, IM_END, IM_START

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="never", split=True)  # pieces within words
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=["<unk>", "<s>", "</s>"],
                                      unk_token="<unk>", show_progress=False)
    tok.train_from_iterator(SPM_TEXTS + persona_paragraphs(0, 200), trainer=trainer)
    tok.pre_tokenizer = None
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.Strip(" ", 1, 0)])
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in ["<s>", "</s>", IM_START, IM_END]])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token=IM_END, unk_token="<unk>",
                                   pad_token="</s>", additional_special_tokens=[IM_START], model_max_length=4096)
    fast.chat_template = CHATML_TEMPLATE
    return fast
