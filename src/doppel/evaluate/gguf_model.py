"""An exported GGUF file as a rung of the ladder: llama.cpp scores and answers like a transformers model.

The same held-out text and conversations as the other rungs, the same generation settings;
token ids come from the file's own tokenizer and chat template, so the numbers describe what
a user of the file gets in llama.cpp, Ollama or LM Studio. Loading goes through
`doppel.modeling.llamacpp` (which keeps llama.cpp to one token per step on AMX CPUs).
"""

from __future__ import annotations

from pathlib import Path

from doppel.config import GenerationSettings
from doppel.evaluate.perplexity import summary, text_rows

# Below this file size a model's per-token work is smaller than the cost of keeping threads
# in step: one thread scored held-out text 10-20x faster than two on a busy 2-core CPU (measured).
SMALL_FILE_BYTES = 100_000_000


class GGUFModel:
    """One GGUF file in llama.cpp, with the HFModel methods the ladder's rungs call."""

    def __init__(self, path: str | Path, settings: GenerationSettings):
        from doppel.modeling import llamacpp

        self._lc = llamacpp
        self.path = Path(path)
        self.settings = settings
        self.threads = 1 if self.path.stat().st_size < SMALL_FILE_BYTES else llamacpp.default_threads()
        self.llm, self.n_ctx = None, 0
        self._reserve(256)
        meta = self.llm.metadata
        trained = meta.get(f"{meta.get('general.architecture', 'llama')}.context_length")
        self.context = int(trained) if trained else llamacpp.context_length(self.llm)

    # -- context ---------------------------------------------------------------------------
    def _reserve(self, tokens: int) -> None:
        """Make the context hold `tokens` (reloading the file with a larger one when needed): logits
        for every position are kept, so the context is no larger than the longest input needs."""
        if self.llm is not None and tokens <= self.n_ctx:
            return
        size = max(tokens, 2 * self.n_ctx)
        if self.llm is not None:
            size = min(size, self.context)  # inputs are cut to the trained context
            self.llm.close()
        self.llm = self._lc.load_gguf(self.path, n_ctx=size, logits_all=True, threads=self.threads)
        # llama.cpp may round its context up; llama-cpp-python's buffers keep the size asked for.
        self.n_ctx = min(size, self._lc.context_length(self.llm))

    def close(self) -> None:
        if self.llm is not None:
            self.llm.close()
            self.llm = None

    def __enter__(self) -> "GGUFModel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- tokens ----------------------------------------------------------------------------
    def _separator(self) -> int:
        """The document separator of pretraining, as modeling.tokenizer.document_separator picks it."""
        from doppel.modeling.tokenizer import BOS

        ids = self._lc.tokenize(self.llm, BOS)
        return ids[0] if len(ids) == 1 else self.llm.token_eos()

    def _end_ids(self) -> set[int]:
        ends = {self.llm.token_eos()}
        eot = self.llm.metadata.get("tokenizer.ggml.eot_token_id")
        if eot is not None:
            ends.add(int(eot))
        return ends

    def _answer_row(self, messages: list[dict]) -> tuple[list[int], list[int]]:
        """The conversation's ids, scoring only the last (assistant) turn and its end-of-turn
        token: what transformers' assistant mask selects for the other rungs."""
        lc = self._lc
        prompt = lc.chat_tokens(self.llm, messages[:-1])
        ids = lc.tokenize(self.llm, lc.chat_prompt(self.llm, messages, add_generation_prompt=False))
        if lc.add_bos(self.llm) and self.llm.token_bos() >= 0:
            ids = [self.llm.token_bos(), *ids]  # as chat_tokens adds it to the prompt
        start = next((i for i, (a, b) in enumerate(zip(ids, prompt)) if a != b), min(len(ids), len(prompt)))
        labels = [-100] * len(ids)
        ends = self._end_ids()
        for pos in range(start, len(ids)):
            labels[pos] = ids[pos]
            if ids[pos] in ends:
                break
        return ids[:self.context], labels[:self.context]

    # -- the rung's methods ------------------------------------------------------------------
    def _logits(self, ids: list[int]):
        """Next-token logits after every position. Like llama-cpp-python's own generate(), the
        attention cache of a prefix shared with the previous input is kept: consecutive held-out
        chunks of a document share their title line, and llama.cpp reads one token per step here."""
        import numpy as np

        llm, keep = self.llm, 0
        for done, new in zip(llm.input_ids[:llm.n_tokens].tolist(), ids[:-1]):
            if done != new:
                break
            keep += 1
        llm.n_tokens = keep  # eval() drops the cache after it and stores logits from there on
        llm.eval(ids[keep:])
        return np.array(llm.scores[:len(ids)], dtype=np.float32)

    def _score(self, rows: list[tuple[list[int], list[int]]]) -> dict:
        """Summed minus log-likelihood of the labelled next tokens (log-softmax in float64, taken
        only at the positions that are scored)."""
        import torch

        total, count = 0.0, 0
        for ids, labels in rows:
            self._reserve(len(ids))
            raw = self._logits(ids)
            scored = [pos for pos in range(len(ids) - 1) if labels[pos + 1] != -100]
            if not scored:
                continue
            logprobs = torch.from_numpy(raw[scored]).double().log_softmax(-1)
            targets = torch.tensor([labels[pos + 1] for pos in scored])
            total -= float(logprobs.gather(1, targets[:, None]).sum())
            count += len(scored)
        return summary(total, count)

    def text_perplexity(self, texts: list[str]) -> float:
        rows = text_rows([self._lc.tokenize(self.llm, t) for t in texts], self._separator(), self.context)
        return self._score(rows)["perplexity"]

    def answer_perplexity(self, conversations: list[list[dict]]) -> float:
        return self._score([self._answer_row(m) for m in conversations])["perplexity"]

    def generate(self, conversations: list[list[dict]], seed: int) -> list[str]:
        """One reply per conversation; a seed per answer, so a rerun gives the same answers."""
        s = self.settings
        limit = max(1, self.context - s.max_new_tokens)
        temperature = s.temperature if s.do_sample else 0.0
        out = []
        for i, messages in enumerate(conversations):
            ids = self._lc.chat_tokens(self.llm, messages)[-limit:]
            self._reserve(len(ids) + s.max_new_tokens)
            pieces = [text for text, _ in self._lc.stream_completion(
                self.llm, ids, s.max_new_tokens, temperature, s.top_p, s.repetition_penalty, seed=seed + i)]
            out.append("".join(pieces).strip())
        return out
