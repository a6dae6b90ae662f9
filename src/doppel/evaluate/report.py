"""The report stage and its pieces: eval/report.html (table, plots, samples, verdicts) from the ladder
as doppel.eval_results reads it (eval's and eval_gguf's rows), and the terminal table."""

from __future__ import annotations

import html
import json
from pathlib import Path

from doppel import eval_results
from doppel.config import PersonaConfig
from doppel.errors import UserError
from doppel.workspace import StageResult, Workspace

# (key, title, which value is best: "low", "high" or "one" = closest to the person's 1.0)
COLUMNS = (("heldout_perplexity", "held-out ppl", "low"),
           ("heldout_answer_perplexity", "answer ppl", "low"),
           ("person_likeness", "person-likeness", "high"),
           ("delta", "Delta", "low"),
           ("distinct_2_ratio", "distinct-2 ratio", "one"),
           ("rep4_ratio", "rep-4 ratio", "one"),
           ("identity_accuracy", "identity", "high"),
           ("identity_no_system", "identity, no system", "high"),
           ("fluency_ratio", "fluency ratio", "one"),
           ("catchphrases_per_1k_words", "catchphrases /1k", None),
           ("judge_win_rate", "judge win rate", "high"),
           ("faithfulness", "faithfulness", "high"),
           ("human_win_rate", "human win rate", "high"))


def best_values(rows: dict) -> dict[str, float]:
    """Per column, the best value among the models (absent when no model has one)."""
    best = {}
    for key, _, rule in COLUMNS:
        values = [r[key] for r in rows.values() if isinstance(r.get(key), (int, float))]
        if not values or rule is None:
            continue
        best[key] = {"low": min(values), "high": max(values),
                     "one": min(values, key=lambda v: abs(v - 1.0))}[rule]
    return best


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def print_results(eval_dir: Path, console) -> None:
    """The ladder (eval's and the exported files' rows, doppel.eval_results) as a terminal table."""
    from rich.table import Table

    results = eval_results.load(eval_dir)
    rows = with_pairwise(results)
    shown = [c for c in COLUMNS if any(r.get(c[0]) is not None for r in rows.values())]
    best = best_values(rows)
    table = Table(title="Persona evaluation (held-out)")
    table.add_column("model")
    for _, title, _ in shown:
        table.add_column(title, justify="right")
    for label, row in rows.items():
        cells = [f"[bold green]{_fmt(row.get(k))}[/]" if k in best and row.get(k) == best[k] else _fmt(row.get(k))
                 for k, _, _ in shown]
        table.add_row(label, *cells)
    ref = results.get("reference", {})
    table.add_row("[dim]person (held-out)[/]", *[f"[dim]{_fmt(ref.get(k))}[/]" if k in ref else ""
                                                  for k, _, _ in shown])
    console.print(table)
    if ref.get("classifier_cv_auc") is not None:
        console.print(f"person-likeness classifier: cross-validated AUC {ref['classifier_cv_auc']}")
    console.print(verdict(rows))
    for line in stage_verdicts(rows) + gguf_verdicts(rows):
        console.print("  " + line)
    for note in results.get("notes", []):
        console.print(f"[yellow]note:[/] {note}")
    last = newest(rows)
    samples_path = Path(eval_dir) / "samples" / f"{last}.jsonl"
    if last and samples_path.exists():
        console.print(f"\nSample answers from '{last}':")
        for line in samples_path.read_text(encoding="utf-8").splitlines()[:3]:
            s = json.loads(line)
            console.print(f"  [bold]Q:[/] {s['question']}\n  [bold]A:[/] {s['answer']}\n")
    console.print(f"report: {Path(eval_dir) / 'report.html'}")


def with_pairwise(results: dict) -> dict:
    """Model rows with the judge's and humans' win rates and faithfulness beside the metrics."""
    rows = {label: dict(row) for label, row in results.get("models", {}).items()}
    judge, humans = results.get("judge") or {}, results.get("human") or {}
    for label, row in rows.items():
        if label in judge.get("win_rates", {}):
            row["judge_win_rate"] = judge["win_rates"][label]["win_rate"]
        if label in (judge.get("faithfulness") or {}):
            row["faithfulness"] = judge["faithfulness"][label]
        if label in humans.get("win_rates", {}):
            row["human_win_rate"] = humans["win_rates"][label]["win_rate"]
    return rows


def is_gguf(row: dict) -> bool:
    return row.get("backend") == "gguf"


def newest(rows: dict) -> str | None:
    """The last trained stage of the ladder (else its last row), not an exported file."""
    trained = [m for m, r in rows.items() if m not in ("base", "prompted") and not is_gguf(r)]
    return (trained or list(rows) or [None])[-1]


def verdict(rows: dict) -> str:
    """One plain line: does the person's held-out perplexity fall at every training stage?"""
    values = [(label, row.get("heldout_perplexity")) for label, row in rows.items()
              if row.get("heldout_perplexity") is not None and not is_gguf(row)]
    if len(values) < 2:
        return ""
    chain = " → ".join(f"{label} {value:g}" for label, value in values)
    falls = all(b[1] < a[1] for a, b in zip(values, values[1:]))
    return f"held-out perplexity: {chain} ({'falls at every stage' if falls else 'does NOT fall at every stage'})"


VERDICT_METRICS = (("person_likeness", "voice", "high"), ("heldout_perplexity", "held-out perplexity", "low"),
                   ("judge_win_rate", "the judge's vote", "high"), ("faithfulness", "faithfulness", "high"),
                   ("human_win_rate", "human votes", "high"), ("identity_accuracy", "identity", "high"))


def stage_verdicts(rows: dict) -> list[str]:
    """Per trained stage, in plain words: where it beats and loses to the best cheap baseline."""
    baseline = "prompted" if "prompted" in rows else "base"
    if baseline not in rows:
        return []
    base_row, lines = rows[baseline], []
    for label, row in rows.items():
        if label in ("base", "prompted"):
            continue
        wins, losses = [], []
        for key, words, rule in VERDICT_METRICS:
            # The prompted baseline shares the base weights: where it has no number of its
            # own (held-out perplexity of plain text), the base model's is the same one.
            a, b = row.get(key), base_row.get(key, rows.get("base", {}).get(key))
            b = rows.get("base", {}).get(key) if b is None else b
            if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or a == b:
                continue
            better = a < b if rule == "low" else a > b
            (wins if better else losses).append(f"{words} ({_fmt(a)} vs {_fmt(b)})")
        text = f"{label.upper()} vs the {'prompted ' if baseline == 'prompted' else ''}base: "
        text += ("beats it on " + ", ".join(wins)) if wins else "beats it on nothing measured"
        text += ("; loses on " + ", ".join(losses)) if losses else ""
        lines.append(text + ".")
    return lines


def gguf_verdicts(rows: dict) -> list[str]:
    """Per exported file: what quantization cost against the model it was exported from."""
    lines = []
    for label, row in rows.items():
        source = rows.get(row.get("exported_from") or "")
        if not is_gguf(row) or source is None:
            continue
        parts = []
        for key, words, _ in VERDICT_METRICS:
            a, b = row.get(key), source.get(key)
            if isinstance(a, (int, float)) and isinstance(b, (int, float)):
                change = f" ({(a - b) / b:+.1%})" if key == "heldout_perplexity" and b else ""
                parts.append(f"{words} {_fmt(a)} vs {_fmt(b)}{change}")
        lines.append(f"{row.get('gguf_file', label)} vs {row['exported_from'].upper()}, the model it was "
                     f"exported from: " + (", ".join(parts) or "nothing measured on both") + ".")
    return lines


def _table(rows: dict, reference: dict) -> str:
    shown = [c for c in COLUMNS if any(r.get(c[0]) is not None for r in rows.values())]
    best = best_values(rows)
    head = "".join(f"<th>{html.escape(t)}</th>" for _, t, _ in shown)
    body = ""
    for label, row in rows.items():
        cells = "".join(f"<td class='{'best' if k in best and row.get(k) == best[k] else ''}'>{_fmt(row.get(k))}</td>"
                        for k, _, _ in shown)
        body += f"<tr><th>{html.escape(label)}</th>{cells}</tr>"
    body += "<tr class='ref'><th>person (held-out)</th>" + "".join(
        f"<td>{_fmt(reference.get(k)) if k in reference else ''}</td>" for k, _, _ in shown) + "</tr>"
    return f"<table id='metrics'><tr><th>model</th>{head}</tr>{body}</table>"


def _samples(eval_dir: Path, labels: list[str], n: int = 4) -> str:
    per = {}
    for label in labels:
        path = eval_dir / "samples" / f"{label}.jsonl"
        if path.exists():
            per[label] = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    if not per:
        return ""
    first = next(iter(per.values()))
    out = ""
    for i, s in enumerate(first[:n]):
        cols = "".join(f"<td><b>{html.escape(label)}</b><br>{html.escape(per[label][i]['answer'])}</td>"
                       for label in per if i < len(per[label]))
        out += (f"<h3>Q: {html.escape(s['question'])}</h3><table class='samples'><tr>"
                f"<td><b>the person</b><br>{html.escape(s['reference'])}</td>{cols}</tr></table>")
    return out


def weak_judge_note(local: str) -> str:
    return (f"The judge here is the local model {local}, run by Doppel with llama.cpp. A small model is a weak "
            f"judge: its votes are near chance and often follow the answers' order (flips count as ties), so read "
            f"these win rates as a check that the judge runs, not as a verdict. For a real verdict point it at a "
            f"stronger model: teacher.local: a bigger .gguf file, or teacher.base_url (an OpenAI-compatible "
            f"endpoint) with eval.judge.model, the key in OPENAI_API_KEY.")


def _pairwise_section(title: str, block: dict) -> str:
    if not block or not block.get("win_rates"):
        return ""
    rows = "".join(f"<tr><th>{html.escape(m)}</th><td>{_fmt(w['win_rate'])}</td><td>[{_fmt(w['ci_low'])}, "
                   f"{_fmt(w['ci_high'])}]</td><td>{_fmt(block.get('bradley_terry', {}).get(m, {}).get('strength'))}"
                   f"</td></tr>" for m, w in block["win_rates"].items())
    notes = ", ".join(f"{k.replace('_', ' ')}: {block[k]}" for k in
                      ("votes", "pairs", "ties", "flips_counted_as_ties", "unreadable_verdicts") if k in block)
    weak = (f"<p class='note'>{html.escape(weak_judge_note(block['local_model']))}</p>"
            if block.get("local_model") else "")
    return (f"<h2>{title}</h2>{weak}<p>{html.escape(notes)}</p><table><tr><th>model</th><th>win rate</th>"
            f"<th>95% interval</th><th>Bradley–Terry strength</th></tr>{rows}</table>")


RL_NOTE = ("The RL stage's reward used a person-likeness classifier of its own, fitted on the other half of her "
           "training answers against other voices, so the rl row is not graded by the scorer it was trained to please.")


def write_report(ws, results: dict, persona) -> Path:
    """eval/report.html with its PNG plots beside it in eval/plots/."""
    from doppel.evaluate import plots
    from doppel.workspace import atomic_write_text

    rows = with_pairwise(results)
    out = ws.eval / "plots"
    last = [newest(rows)] if rows else []
    images = [plots.perplexity_plot(rows, out), plots.likeness_plot(results.get("likeness_distributions", {}), out),
              *(plots.phrases_plot(rows, m, out) for m in last), plots.loss_plot(ws.models, out)]
    figs = "".join(f"<img src='plots/{name}' alt='{name}'>" for name in images if name)
    ref = results.get("reference", {})
    auc = ref.get("classifier_cv_auc")
    verdicts = "".join(f"<li>{html.escape(v)}</li>" for v in [verdict(rows), *stage_verdicts(rows),
                                                                *gguf_verdicts(rows)] if v)
    phrases = "".join(f"<li><b>{html.escape(m)}</b>: " + html.escape(", ".join(
        f"“{p['phrase']}” ×{p['ratio']}" for p in (r.get("overused_phrases") or [])[:5]) or "none") + "</li>"
        for m, r in rows.items())
    rl_note = RL_NOTE if {"rl", "grpo"} & set(rows) else ""
    gguf_note = ("\nRows <code>gguf-…</code>: the exported GGUF files, run in llama.cpp on the same text and "
                 "questions with the same generation settings." if any(is_gguf(r) for r in rows.values()) else "")
    notes = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in results.get("notes", []))
    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>Doppel report: {html.escape(persona.name)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}}table{{border-collapse:collapse;margin:1rem 0}}
td,th{{border:1px solid #ccc;padding:.35rem .6rem;text-align:right;vertical-align:top}}.best{{background:#c8f0c8;font-weight:bold}}
.ref td,.ref th{{color:#777}}.samples td{{text-align:left;width:16rem}}img{{max-width:48%;margin:.5rem}}</style></head><body>
<h1>How close is the model to {html.escape(persona.name)}?</h1>
<h2>Verdict</h2><ul id="verdicts">{verdicts}</ul>{notes}
<h2>Every model × metric</h2><p>Best value per column in green. Person-likeness: mean probability from a
character 2–4-gram classifier (the person's real answers to training questions against the base model's
and the prompted base's answers to them, and the interviewers' questions), scaled so the person's own held-out answers score 1.0; its cross-validated AUC is
<b id="auc">{_fmt(auc)}</b>{' — a weak classifier, read person-likeness with care' if auc is not None and auc < 0.75 else ''}.
{rl_note}
Delta: Burrows' Delta over the most frequent words against the person's held-out text (0 = the person).
Ratios: distinct-2 and repeated-4-gram rate ÷ the person's own at the same length (1.0 = like the person).
Identity: share of identity probes answered as the person; "no system" asks with no system message at all.
Fluency ratio: the untouched base model's perplexity of a trained model's answers ÷ its perplexity of the
person's own answers to the same questions (far above 1.0: broken English).{gguf_note}</p>
{_table(rows, ref)}
<h2>Plots</h2>{figs}
<h2>Over-used phrases (rate in answers ÷ rate in the person's text)</h2><ul>{phrases}</ul>
{_pairwise_section("LLM judge: which sounds more like the person?", results.get("judge") or {})}
{_pairwise_section("LLM judge: the exported GGUF files against the model they came from",
                   (results.get("gguf") or {}).get("judge") or {})}
{_pairwise_section("Human A/B votes", results.get("human") or {})}
<h2>Sample answers, side by side</h2>{_samples(ws.eval, list(rows))}
<h2>Settings</h2><pre>{html.escape(json.dumps({"generation": results.get("generation"), "heldout": results.get("heldout")}, indent=1))}</pre>
</body></html>"""
    path = ws.eval / "report.html"
    atomic_write_text(path, doc)
    return path


def run(persona: PersonaConfig, ws: Workspace) -> StageResult:
    """The report stage: eval's and eval_gguf's files read as one ladder, written as eval/report.html."""
    results = eval_results.load(ws.eval)
    if not results:
        raise UserError(f"{ws.eval / eval_results.RESULTS} is missing: the report shows the eval stage's ladder; "
                        f"run 'doppel run CONFIG' (or 'doppel eval CONFIG') first")
    path = write_report(ws, results, persona)
    gguf = [label for label, row in results["models"].items() if is_gguf(row)]
    notes = {"note": " ".join(results["notes"])} if results["notes"] else {}
    return StageResult({"rows": len(results["models"]), "gguf_rows": len(gguf), **notes}, [path])
