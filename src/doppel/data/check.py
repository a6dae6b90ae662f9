"""`doppel build --check`: format checks on every dataset and token counts per split.

Errors make a dataset unusable (bad JSON or schema, roles out of order, empty messages, no
assistant turn to learn from); warnings flag examples longer than the training sequence
length, which the trainer would truncate.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from pydantic import ValidationError

from doppel.records import Example, PreferencePair, TextChunk

ERRORS = {"invalid_json", "invalid_record", "empty_message", "missing_assistant_turn", "role_order",
          "system_not_first", "empty_text", "chosen_equals_rejected", "prompt_not_ending_with_user"}
# Text sets are packed into blocks by the trainer (nothing is cut); chats are truncated.
DATASETS = {  # relative path: (record type, which training length applies)
    "cpt/train.jsonl": (TextChunk, "cpt"), "heldout/text.jsonl": (TextChunk, "cpt"),
    "pretrain/train.jsonl": (TextChunk, "pretrain"), "sft/train.jsonl": (Example, "sft"),
    "sft/synth.jsonl": (Example, "sft"), "heldout/dialogues.jsonl": (Example, "sft"),
    "pref/train.jsonl": (PreferencePair, "sft"),
}


def message_problems(messages: list[dict]) -> list[str]:
    """Format problems of one chat: roles, order, empty content, a final assistant turn."""
    out = []
    roles = [m["role"] for m in messages]
    if any(not m["content"].strip() for m in messages):
        out.append("empty_message")
    if "system" in roles[1:]:
        out.append("system_not_first")
    turns = [r for r in roles if r != "system"]
    if not turns or turns[-1] != "assistant":
        out.append("missing_assistant_turn")
    if any(r == turns[i - 1] for i, r in enumerate(turns) if i) or (turns and turns[0] != "user"):
        out.append("role_order")
    return out


def _record_problems(rec, kind: type) -> list[str]:
    if kind is TextChunk:
        return [] if rec.text.strip() else ["empty_text"]
    if kind is Example:
        return message_problems([m.model_dump() for m in rec.messages])
    out = []
    if not rec.chosen.strip() or not rec.rejected.strip():
        out.append("empty_message")
    if rec.chosen.strip() == rec.rejected.strip():
        out.append("chosen_equals_rejected")
    if not rec.prompt or rec.prompt[-1].role != "user":
        out.append("prompt_not_ending_with_user")
    return out


def _texts(rec, kind: type, tokenizer) -> list[str]:
    if kind is TextChunk:
        return [rec.full_text()]
    if kind is Example:
        return [tokenizer.apply_chat_template([m.model_dump() for m in rec.messages], tokenize=False)]
    prompt = [m.model_dump() for m in rec.prompt]
    return [tokenizer.apply_chat_template(prompt + [{"role": "assistant", "content": a}], tokenize=False)
            for a in (rec.chosen, rec.rejected)]


def check_file(path: Path, kind: type, tokenizer, max_len: int | None) -> dict:
    problems: Counter = Counter()
    where: list[str] = []
    records = tokens = longest = 0
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        found: list[str] = []
        try:
            rec = kind.model_validate(json.loads(line))
        except json.JSONDecodeError:
            found = ["invalid_json"]
        except ValidationError:
            found = ["invalid_record"]
        else:
            records += 1
            found = _record_problems(rec, kind)
            lengths = [len(ids) for ids in tokenizer(_texts(rec, kind, tokenizer), add_special_tokens=False)["input_ids"]]
            tokens += lengths[0]
            longest = max(longest, *lengths)
            if max_len is not None and max(lengths) > max_len:
                found.append("over_length")
        problems.update(found)
        where += [f"{path.name}:{lineno}: {p}" for p in found][: max(0, 5 - len(where))]
    errors = sum(n for p, n in problems.items() if p in ERRORS)
    return {"records": records, "tokens": tokens, "longest": longest, "max_length": max_len,
            "errors": errors, "warnings": sum(problems.values()) - errors, "problems": dict(problems),
            "first_problems": where}


def check_datasets(data_dir: Path, tokenizer, lengths: dict[str, int]) -> dict:
    """Per existing dataset file: records, tokens, longest example and problems."""
    report = {}
    for rel, (kind, stage) in DATASETS.items():
        path = data_dir / rel
        if path.exists():
            report[rel] = check_file(path, kind, tokenizer, None if kind is TextChunk else lengths[stage])
    return report


def run_check(cfg, ws, console) -> bool:
    """Validate the run's datasets, print a table, save data/check.json; True when error-free."""
    from rich.table import Table

    from doppel.modeling.tokenizer import load_tokenizer
    from doppel.workspace import atomic_write_json

    from doppel.modeling.bases import resolve_base

    tok_path = ws.tokenizer if (ws.tokenizer / "tokenizer.json").exists() else resolve_base(cfg.model.base)
    tokenizer = load_tokenizer(tok_path)
    t = cfg.train
    report = check_datasets(ws.data, tokenizer, {"cpt": t.cpt.seq_len, "sft": t.sft.seq_len,
                                                 "pretrain": t.pretrain.seq_len})
    atomic_write_json(ws.data / "check.json", report)
    table = Table(title="dataset check")
    for col in ("dataset", "records", "tokens", "longest", "max len", "errors", "warnings", "problems"):
        table.add_column(col, justify="left" if col in ("dataset", "problems") else "right")
    for rel, r in report.items():
        problems = ", ".join(f"{k} {v}" for k, v in r["problems"].items()) or "-"
        table.add_row(rel, str(r["records"]), str(r["tokens"]), str(r["longest"]), str(r["max_length"] or "packed"),
                      str(r["errors"]), str(r["warnings"]), problems)
    console.print(table)
    for rel, r in report.items():
        for line in r["first_problems"]:
            console.print(f"  {rel.split('/')[0]}/{line}")
    errors = sum(r["errors"] for r in report.values())
    console.print(f"{'no errors' if not errors else f'{errors} errors'}; report saved to {ws.data / 'check.json'}")
    return errors == 0
