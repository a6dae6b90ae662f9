"""The build stage: split by document, tokenizer, CPT chunks, SFT dialogues, pretraining text."""

from __future__ import annotations

from collections import Counter

from doppel.config import DataConfig, ModelConfig, PersonaConfig
from doppel.data.chunking import chunk_document, header_line, token_counter
from doppel.data.dialogues import background_dialogue, build_examples
from doppel.data.splits import heldout_ids
from doppel.modeling.tokenizer import load_tokenizer, train_tokenizer
from doppel.records import Document, TextChunk, read_jsonl
from doppel.workspace import StageResult, Workspace, atomic_dir, atomic_write_json, atomic_write_jsonl


def persona_text(doc: Document, persona: PersonaConfig) -> str:
    """The person's own words in a document: all of it, or only their turns in a transcript."""
    if doc.turns:
        return "\n\n".join(t.text for t in doc.turns if persona.matches(t.speaker))
    return doc.text


def _tokenizer(model_cfg: ModelConfig, texts: list[str], ws: Workspace):
    if model_cfg.base:
        from doppel.modeling.bases import resolve_base

        return load_tokenizer(resolve_base(model_cfg.base)), model_cfg.base
    tok = train_tokenizer(texts, model_cfg.tokenizer.vocab_size, model_cfg.tokenizer.min_frequency)
    with atomic_dir(ws.tokenizer) as tmp:
        tok.save_pretrained(tmp)
    return tok, "trained"


def _pretrain_text(doc: Document, tokenizer) -> TextChunk:
    messages = background_dialogue(doc) if doc.turns else []
    if messages:
        text = tokenizer.apply_chat_template(messages, tokenize=False)
    else:
        text = doc.text
    return TextChunk(id=doc.id, source=doc.id, text=text, header=header_line(doc))


def _tokens(count, chunks: list[TextChunk]) -> int:
    return sum(count([c.full_text() for c in chunks])) if chunks else 0


def packing(count, chunks: list[TextChunk], length: int) -> dict:
    """Real-token fraction when every chunk is padded to `length` tokens (1.0 = no padding)."""
    sizes = count([c.full_text() for c in chunks]) if chunks else []
    if not sizes:
        return {"chunks": 0, "mean_tokens": 0, "real_token_fraction": 0.0}
    return {"chunks": len(sizes), "mean_tokens": round(sum(sizes) / len(sizes), 1),
            "max_tokens": max(sizes), "real_token_fraction": round(sum(sizes) / (len(sizes) * max(length, max(sizes))), 4)}


def sweep(docs: list[Document], persona: PersonaConfig, cfg: DataConfig, count) -> dict:
    """Chunk statistics at other lengths (data.chunk_sweep), for choosing chunk_tokens."""
    out = {}
    for length in cfg.chunk_sweep:
        chunks = [c for d in docs for c in chunk_document(d, persona_text(d, persona), length, count, cfg.chunk_overlap)]
        stats = packing(count, chunks, length)
        stats["mean_chars"] = round(sum(len(c.text) for c in chunks) / len(chunks), 1) if chunks else 0
        out[str(length)] = stats
    return out


def run(cfg: DataConfig, persona: PersonaConfig, model_cfg: ModelConfig, seed: int, ws: Workspace) -> StageResult:
    docs = read_jsonl(ws.corpus / "documents.jsonl", Document)
    background = read_jsonl(ws.corpus / "background.jsonl", Document)
    held = heldout_ids(docs, cfg.heldout_fraction, seed)
    train_docs = [d for d in docs if d.id not in held]
    held_docs = [d for d in docs if d.id in held]

    # Without a base model, a few background documents measure pretraining's held-out loss.
    bg_held = (heldout_ids(background, cfg.background_heldout_fraction, seed)
               if cfg.background_heldout_fraction and not model_cfg.base else set())
    bg_train = [d for d in background if d.id not in bg_held]

    tokenizer, tok_source = _tokenizer(
        model_cfg, [persona_text(d, persona) for d in train_docs] + [d.text for d in bg_train], ws)
    count = token_counter(tokenizer)

    def chunks(group: list[Document]) -> list[TextChunk]:
        return [c for d in group for c in chunk_document(d, persona_text(d, persona), cfg.chunk_tokens, count,
                                                           cfg.chunk_overlap)]

    def dialogues(group: list[Document]):
        examples, dropped = [], Counter()
        for d in group:
            if d.turns:
                ex, why = build_examples(d, persona, cfg)
                examples += ex
                dropped += why
        return examples, dropped

    cpt_train, cpt_held = chunks(train_docs), chunks(held_docs)
    sft_train, dropped_train = dialogues(train_docs)
    sft_held, dropped_held = dialogues(held_docs)
    pretrain = [_pretrain_text(d, tokenizer) for d in bg_train] if not model_cfg.base else []
    pretrain_held = [_pretrain_text(d, tokenizer) for d in background if d.id in bg_held]

    outputs = {
        ws.data / "cpt" / "train.jsonl": cpt_train,
        ws.data / "sft" / "train.jsonl": sft_train,
        ws.data / "heldout" / "text.jsonl": cpt_held,
        ws.data / "heldout" / "dialogues.jsonl": sft_held,
        ws.data / "pretrain" / "train.jsonl": pretrain,
        ws.data / "heldout" / "background.jsonl": pretrain_held,
    }
    for path, records in outputs.items():
        atomic_write_jsonl(path, records)
    atomic_write_json(ws.data / "heldout" / "documents.json", sorted(held))

    stats = {
        "tokenizer": tok_source,
        "vocab_size": len(tokenizer),
        "documents": {"train": len(train_docs), "heldout": len(held_docs), "background": len(background)},
        "cpt": {"train_chunks": len(cpt_train), "train_tokens": _tokens(count, cpt_train),
                "heldout_chunks": len(cpt_held), "heldout_tokens": _tokens(count, cpt_held),
                "chunk_tokens": cfg.chunk_tokens, "chunk_overlap": cfg.chunk_overlap,
                "packing": packing(count, cpt_train, cfg.chunk_tokens),
                "sweep": sweep(train_docs, persona, cfg, count)},
        "sft": {"train_examples": len(sft_train), "heldout_examples": len(sft_held),
                "dropped": dict(dropped_train + dropped_held)},
        "pretrain": {"texts": len(pretrain), "tokens": _tokens(count, pretrain),
                     "heldout_texts": len(pretrain_held), "heldout_tokens": _tokens(count, pretrain_held)},
    }
    atomic_write_json(ws.data / "stats.json", stats)
    paths = [*outputs, ws.data / "heldout" / "documents.json", ws.data / "stats.json"]
    if not model_cfg.base:
        paths.append(ws.tokenizer)
    return StageResult(stats, paths)
