"""Printing eval/results.json as a table (the HTML report comes with the full ladder)."""

from __future__ import annotations

import json
from pathlib import Path

COLUMNS = (("heldout_perplexity", "held-out ppl", "low"),
           ("heldout_answer_perplexity", "answer ppl", "low"),
           ("catchphrases_per_1k_words", "catchphrases /1k words", None))


def print_results(path: Path, console) -> None:
    from rich.table import Table

    results = json.loads(Path(path).read_text(encoding="utf-8"))
    rows = results["models"]
    table = Table(title="Persona evaluation (held-out)")
    table.add_column("model")
    for _, title, _ in COLUMNS:
        table.add_column(title, justify="right")
    for label, row in rows.items():
        cells = []
        for key, _, better in COLUMNS:
            value = row.get(key)
            best = better == "low" and value is not None and value == min(
                r[key] for r in rows.values() if r.get(key) is not None)
            cells.append(f"[bold green]{value}[/]" if best else str(value))
        table.add_row(label, *cells)
    ref = results.get("reference", {}).get("catchphrases_per_1k_words")
    if ref is not None:
        table.add_row("[dim]person (held-out answers)[/]", "", "", f"[dim]{ref}[/]")
    console.print(table)
    console.print(verdict(rows))
    last = list(rows)[-1] if rows else None
    samples_path = Path(path).parent / "samples" / f"{last}.jsonl"
    if last and samples_path.exists():
        console.print(f"\nSample answers from '{last}':")
        for line in samples_path.read_text(encoding="utf-8").splitlines()[:3]:
            s = json.loads(line)
            console.print(f"  [bold]Q:[/] {s['question']}\n  [bold]A:[/] {s['answer']}\n")


def verdict(rows: dict) -> str:
    """One plain line: does the person's held-out perplexity fall at every stage?"""
    values = [(label, row.get("heldout_perplexity")) for label, row in rows.items()
              if row.get("heldout_perplexity") is not None]
    if len(values) < 2:
        return ""
    chain = " → ".join(f"{label} {value:g}" for label, value in values)
    falls = all(b[1] < a[1] for a, b in zip(values, values[1:]))
    return f"held-out perplexity: {chain} ({'falls at every stage' if falls else 'does NOT fall at every stage'})"
