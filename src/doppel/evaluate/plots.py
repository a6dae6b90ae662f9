"""The report's plots as PNG files (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import json
from pathlib import Path


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=90, bbox_inches="tight")
    tmp.replace(path)
    return path.name


def perplexity_plot(rows: dict, out: Path) -> str | None:
    labels = [m for m, r in rows.items() if r.get("heldout_perplexity") is not None]
    if not labels:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(labels, [rows[m]["heldout_perplexity"] for m in labels], color="#4c78a8")
    ax.set_yscale("log")
    ax.set_ylabel("held-out perplexity (log)")
    ax.set_title("Perplexity on the person's unseen text")
    name = _save(fig, out / "perplexity.png")
    plt.close(fig)
    return name


def likeness_plot(distributions: dict, out: Path) -> str | None:
    labels = [m for m, v in distributions.items() if v]
    if not labels:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.boxplot([distributions[m] for m in labels], tick_labels=labels, vert=True)
    ax.set_ylabel("P(the person wrote it)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Person-likeness of each model's answers")
    name = _save(fig, out / "likeness.png")
    plt.close(fig)
    return name


def phrases_plot(rows: dict, label: str, out: Path) -> str | None:
    phrases = (rows.get(label) or {}).get("overused_phrases") or []
    if not phrases:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(phrases) + 1))
    ax.barh([p["phrase"] for p in phrases][::-1], [p["ratio"] for p in phrases][::-1], color="#e45756")
    ax.set_xlabel("rate in answers ÷ rate in the person's text")
    ax.set_title(f"Over-used phrases: {label}")
    name = _save(fig, out / f"phrases_{label}.png")
    plt.close(fig)
    return name


def loss_plot(models_dir: Path, out: Path) -> str | None:
    curves = {}
    for log in sorted(models_dir.glob("*/log_history.json")):
        try:
            history = json.loads(log.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        points = [(h["step"], h["loss"]) for h in history if "loss" in h and "step" in h]
        if points:
            curves[log.parent.name] = points
    if not curves:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3))
    for stage, points in curves.items():
        ax.plot([p[0] for p in points], [p[1] for p in points], label=stage)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.legend()
    ax.set_title("Training loss per stage")
    name = _save(fig, out / "loss.png")
    plt.close(fig)
    return name
