"""SentencePiece-style vocabularies (Llama 2, Mistral, Gemma; Unigram models) in llama.cpp's terms.

A BPE with `byte_fallback` (the tokenizer.json of Llama 2, Mistral and Gemma) turns spaces into
`▁`, may put a dummy `▁` before the text, and spells a character outside the vocabulary as its
UTF-8 bytes, `<0x..>` tokens. llama.cpp's "llama" tokenizer model does the same with no merge
list: it repeatedly joins the adjacent pair whose joined text is the token of highest *score*.
A token's score is therefore written as minus the rank of the first merge that makes it, so
llama.cpp joins pairs in the order the HF merges do (for a vocabulary converted from
SentencePiece, whose merges list every pair by the score of its result, that is exactly
SentencePiece's own order).

A Unigram model (SentencePiece's other kind) picks the split of highest total log-probability;
llama.cpp's "t5" tokenizer model does that search with the same scores and the same penalty for
an unknown character, so a Unigram vocabulary is written as "t5" (without byte fallback, which
that model lacks: such a vocabulary is refused).

Whether a `▁` goes before the text is read from what the tokenizer's normalizer and
pre-tokenizer do to sample texts, not from their JSON spelling. llama.cpp puts it before
every stretch of text that follows a special token, as the legacy `Prepend("▁")` normalizer
does; a `Metaspace` pre-tokenizer skips it on text that already starts with a space, and with
`prepend_scheme: first` after special tokens too, so those tokenizers can differ from the
GGUF there (the parity gate compares both on real text and chat prompts).
"""

from __future__ import annotations

import re

from doppel.errors import UserError

SPACE = "\u2581"
BYTE_TOKEN = re.compile(r"<0x[0-9A-F]{2}>")
# Samples for the prefix check; none starts with a space (see the module docstring).
SAMPLES = ("Hello world", "a  b\tc\nd  ", "naïve — 東京 🙂")


def is_sentencepiece(model: dict) -> bool:
    return (model.get("type") == "BPE" and bool(model.get("byte_fallback"))) or model.get("type") == "Unigram"


def _escaped(backend, text: str) -> str:
    """The text as the tokenizer's normalizer and pre-tokenizer hand it to the BPE model, pieces joined."""
    if backend.normalizer is not None:
        text = backend.normalizer.normalize_str(text)
    if backend.pre_tokenizer is not None:
        text = "".join(piece for piece, _ in backend.pre_tokenizer.pre_tokenize_str(text))
    return text


def space_prefix(backend, where: str) -> bool:
    """True when the tokenizer puts `▁` before the text; a UserError when it changes text in other ways."""
    seen = [_escaped(backend, text) for text in SAMPLES]
    for prefix in (True, False):
        if seen == [(SPACE if prefix else "") + text.replace(" ", SPACE) for text in SAMPLES]:
            return prefix
    odd = next((i for i, (text, got) in enumerate(zip(SAMPLES, seen))
                if got.lstrip(SPACE) != text.replace(" ", SPACE)), 0)
    raise UserError(f"{where}: the tokenizer's normalizer or pre-tokenizer turns {SAMPLES[odd]!r} into "
                    f"{seen[odd]!r}; llama.cpp's SentencePiece tokenizer only replaces spaces with '{SPACE}' "
                    f"(and may put one before the text), so this tokenizer cannot be written as GGUF by Doppel")


def _merge_ranks(model: dict) -> dict[str, int]:
    """Each token made by a merge → the rank of the first merge that makes it."""
    ranks: dict[str, int] = {}
    for rank, merge in enumerate(model.get("merges") or []):
        left, right = merge if isinstance(merge, list) else merge.split(" ", 1)
        ranks.setdefault(left + right, rank)
    return ranks


def _check_bytes(vocab: dict, where: str) -> None:
    missing = [f"<0x{b:02X}>" for b in range(256) if f"<0x{b:02X}>" not in vocab]
    if missing:
        raise UserError(f"{where}: the byte-fallback vocabulary lacks {len(missing)} of the 256 byte tokens "
                        f"(e.g. {missing[0]}); llama.cpp needs all of <0x00>…<0xFF> to spell characters "
                        f"outside the vocabulary. Add them to the tokenizer's vocabulary before training")


def _with_added(spec: dict, by_id: dict, kinds: dict, scores: dict, vocab_size: int, where: str):
    """The tables padded to vocab_size, with the added tokens' types: (tokens, scores, types)."""
    from gguf import TokenType

    for added in spec.get("added_tokens", []):
        tid = added["id"]
        by_id[tid] = added["content"]
        scores[tid] = 0.0
        if kinds.get(tid) != TokenType.UNKNOWN:
            kinds[tid] = TokenType.CONTROL if added.get("special") else TokenType.USER_DEFINED
    if max(by_id) >= vocab_size:
        raise UserError(f"{where}: the tokenizer has ids up to {max(by_id)} but the model's vocab_size "
                        f"is {vocab_size}; the tokenizer does not belong to this model")
    low = min(scores.values(), default=0.0) - 1.0  # rows no token uses: never preferred
    return ([by_id.get(i, f"[PAD{i}]") for i in range(vocab_size)], [scores.get(i, low) for i in range(vocab_size)],
            [int(kinds.get(i, TokenType.UNUSED)) for i in range(vocab_size)])


def spm_tables(spec: dict, vocab_size: int, where: str) -> tuple[list[str], list[float], list[int]]:
    """(tokens by id, scores, token types) of a byte-fallback BPE tokenizer.json, padded to vocab_size."""
    from gguf import TokenType

    model = spec["model"]
    vocab = model["vocab"]
    _check_bytes(vocab, where)
    ranks = _merge_ranks(model)
    unreachable = -float(len(ranks) + 1)  # in the vocabulary but made by no merge: joined last
    by_id = {i: t for t, i in vocab.items()}
    kinds, scores = {}, {}
    for tid, text in by_id.items():
        if BYTE_TOKEN.fullmatch(text):
            kinds[tid], scores[tid] = TokenType.BYTE, 0.0
        else:
            kinds[tid] = TokenType.NORMAL
            scores[tid] = -float(ranks[text]) if text in ranks else (0.0 if len(text) == 1 else unreachable)
    if model.get("unk_token") in vocab:
        kinds[vocab[model["unk_token"]]] = TokenType.UNKNOWN
    return _with_added(spec, by_id, kinds, scores, vocab_size, where)


def unigram_tables(spec: dict, vocab_size: int, where: str) -> tuple[list[str], list[float], list[int]]:
    """(tokens by id, scores, token types) of a Unigram tokenizer.json, padded to vocab_size."""
    from gguf import TokenType

    model = spec["model"]
    if model.get("byte_fallback"):
        raise UserError(f"{where}: a Unigram tokenizer with byte_fallback has no llama.cpp equivalent (its "
                        f"Unigram tokenizer spells unknown characters as <unk>); use llama.cpp's convert_hf_to_gguf.py")
    by_id = {i: piece for i, (piece, _) in enumerate(model["vocab"])}
    scores = {i: float(score) for i, (_, score) in enumerate(model["vocab"])}
    kinds = {i: TokenType.BYTE if BYTE_TOKEN.fullmatch(t) else TokenType.NORMAL for i, t in by_id.items()}
    if model.get("unk_id") is not None:
        kinds[model["unk_id"]] = TokenType.UNKNOWN
    return _with_added(spec, by_id, kinds, scores, vocab_size, where)


def add_sentencepiece(writer, tok, spec: dict, vocab_size: int, where: str) -> dict:
    """Write the vocabulary part of a byte-fallback BPE or Unigram tokenizer; returns what was written."""
    from gguf import TokenType

    prefix = space_prefix(tok.backend_tokenizer, where)
    unigram = spec["model"]["type"] == "Unigram"
    tokens, scores, types = (unigram_tables if unigram else spm_tables)(spec, vocab_size, where)
    kind = "t5" if unigram else "llama"
    writer.add_tokenizer_model(kind)
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_add_space_prefix(prefix)
    if unigram:
        writer.add_remove_extra_whitespaces(False)
    if int(TokenType.UNKNOWN) in types:
        writer.add_unk_token_id(types.index(int(TokenType.UNKNOWN)))
    return {"tokenizer_model": kind, "pre_tokenizer": "default", "add_space_prefix": prefix,
            "tokens": len(tokens), "merges": 0}
