"""A GGUF as the teacher: llama.cpp prompt and generation speed, and requests/s through the local server.

    .venv/bin/python bench/local_teacher.py [--model smollm2-135m-instruct] [--requests 16]
                                            [--slots 1 4] [--prompt-tokens 300]

1. Prompt processing (one 300-token prompt) and generation tokens/s of the file in llama.cpp,
   with one-token micro-batches (n_ubatch=1, the workaround Doppel used on AMX CPUs) and with
   batched prompt processing (n_ubatch=512).
2. Back-translation requests ("here is an answer from an interview; write the question") sent
   through Doppel's Teacher (no cache, max_tokens 48) to `doppel.serve.local` with each number of
   parallel slots (the Teacher's concurrency is twice the slots): requests/s and wall seconds.
Prints Markdown table rows for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

PASSAGE = ("Fishing? Where do I start. Tide comes in, tide goes out, and a net you mended on Sunday is a net "
           "that holds on Monday. My father taught me to read the water before the sky; the sky lies more.")


def llama_speed(path: Path, ubatch: int, prompt_tokens: int, new_tokens: int = 64) -> tuple[float, float]:
    import llama_cpp

    from doppel.modeling.llamacpp import default_threads, quiet

    quiet()
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=1024, n_batch=512, n_ubatch=ubatch,
                          n_threads=default_threads(), n_threads_batch=default_threads(), verbose=False)
    words = (PASSAGE + " ") * 20
    ids = llm.tokenize(words.encode(), add_bos=False)[:prompt_tokens]
    llm.reset()
    start = time.perf_counter()
    llm.eval(ids)
    pp = len(ids) / (time.perf_counter() - start)
    start = time.perf_counter()
    made = 0
    for token in llm.generate(ids[:32], temp=0.0, reset=True):
        made += 1
        if made >= new_tokens:
            break
    tg = made / (time.perf_counter() - start)  # includes reading the 32-token prompt
    llm.close()
    return pp, tg


def teacher_speed(model: str, slots: int, requests: int) -> tuple[float, float, int]:
    from doppel.config import TeacherConfig
    from doppel.teacher import Teacher, teacher_endpoint

    cfg = TeacherConfig(local=model, local_parallel=slots, concurrency=2 * slots, timeout=300)
    asks = [[{"role": "system", "content": "You write interview questions."},
             {"role": "user", "content": f"Here is an answer from an interview:\n{PASSAGE}\n(answer {i})\n"
                                         f"Write the question the interviewer asked. Reply with the question only."}]
            for i in range(requests)]
    with teacher_endpoint(cfg) as resolved:
        teacher = Teacher(resolved, None)
        teacher.chat_many(asks[:1], max_tokens=8)  # warm-up, not timed
        start = time.perf_counter()
        replies = teacher.chat_many(asks, max_tokens=48, temperature=0.8)
        wall = time.perf_counter() - start
        teacher.close()
    return requests / wall, wall, sum(r.text is not None for r in replies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--slots", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--prompt-tokens", type=int, default=300)
    args = parser.parse_args()

    from doppel.local_endpoint import gguf_path

    path = gguf_path(args.model)
    for ubatch in (1, 512):
        pp, tg = llama_speed(path, ubatch, args.prompt_tokens)
        print(f"| {path.name} | n_ubatch={ubatch} | prompt {args.prompt_tokens} tokens: {pp:,.0f} tok/s | "
              f"generation: {tg:,.1f} tok/s |")
    for slots in args.slots:
        rate, wall, ok = teacher_speed(args.model, slots, args.requests)
        print(f"| local teacher {args.model} | {slots} slot(s), concurrency {2 * slots} | {args.requests} requests "
              f"({ok} answered) in {wall:.1f} s | {rate:.2f} requests/s |")


if __name__ == "__main__":
    main()
