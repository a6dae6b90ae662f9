"""The `doppel` command: one thin command per stage, plus run, demo, init and chat.

Heavy libraries are imported inside the commands so `doppel --help` answers at once.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Callable, Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Doppel: turn one person's words into a model that talks in their voice, "
                       "and measure how close it got.")
STATE = {"debug": False}

SetOpt = typer.Option(None, "--set", help="Override a config key, e.g. --set train.sft.learning_rate=1e-4 (repeatable).")
ConfigArg = typer.Argument(..., help="A config YAML file, or a run folder written by 'doppel run'.")


def _console():
    from rich.console import Console

    return Console(stderr=False, highlight=False)


def guarded(fn: Callable) -> Callable:
    """Turn user errors into one paragraph and exit code 2 (a traceback only with --debug)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from doppel.errors import UserError

        try:
            return fn(*args, **kwargs)
        except UserError as err:
            if STATE["debug"]:
                raise
            print(f"error: {err}", file=sys.stderr)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            print("\ninterrupted: finished stages are kept; run the same command again to continue",
                  file=sys.stderr)
            raise typer.Exit(130) from None
    return wrapper


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks.")) -> None:
    STATE["debug"] = debug or os.environ.get("DOPPEL_DEBUG") == "1"


def _load(config: Path, overrides: Optional[list[str]]):
    from doppel.config import load_config

    return load_config(config, overrides or [])


def _reporter(console) -> Callable[[str, str, dict], None]:
    def report(name: str, status: str, summary: dict) -> None:
        if status == "start":
            console.rule(f"[bold]{name}")
        elif status == "skipped":
            console.print(f"[green]✓[/] {name}: up to date, skipped")
        elif status == "disabled":
            console.print(f"[dim]- {name}: disabled in the config[/]")
        else:
            console.print(f"[green]✓[/] {name} done in {summary.get('seconds', '?')} s")
            for key, value in summary.items():
                if key != "seconds" and key != "models":
                    console.print(f"    {key}: {value}")
    return report


def _run(config: Path, overrides, stages: list[str] | None, start: str | None, force: bool):
    from doppel import pipeline

    cfg = _load(config, overrides)
    ws = pipeline.prepare(cfg)
    console = _console()
    console.print(f"run folder: {ws.root}")
    names = pipeline.selected(stages, start)
    pipeline.run_pipeline(cfg, ws, names, force=force, report=_reporter(console))
    if "eval" in names and (ws.eval / "results.json").exists():
        from doppel.evaluate.report import print_results

        print_results(ws.eval / "results.json", console)
    return ws


@app.command()
@guarded
def run(config: Path = ConfigArg,
        force: bool = typer.Option(False, "--force", help="Rerun stages even when they are up to date."),
        only: Optional[list[str]] = typer.Option(None, "--only", help="Run only this stage (repeatable)."),
        start: Optional[str] = typer.Option(None, "--from", help="Start at this stage."),
        set_: Optional[list[str]] = SetOpt) -> None:
    """Run every stage in order, skipping stages whose inputs and settings did not change."""
    _run(config, set_, only, start, force)


@app.command()
@guarded
def ingest(config: Path = ConfigArg, force: bool = typer.Option(False, "--force"),
           set_: Optional[list[str]] = SetOpt) -> None:
    """Read the sources into corpus/documents.jsonl with an ingest report."""
    _run(config, set_, ["ingest"], None, force)


@app.command()
@guarded
def build(config: Path = ConfigArg, force: bool = typer.Option(False, "--force"),
          set_: Optional[list[str]] = SetOpt) -> None:
    """Build the datasets: tokenizer, CPT chunks, SFT dialogues, held-out split."""
    _run(config, set_, ["build"], None, force)


@app.command()
@guarded
def train(config: Path = ConfigArg,
          stage: Optional[list[str]] = typer.Option(None, "--stage", help="pretrain, cpt or sft (repeatable); all by default."),
          force: bool = typer.Option(False, "--force"), set_: Optional[list[str]] = SetOpt) -> None:
    """Train: pretrain the base (when built from scratch), continued pretraining, SFT."""
    _run(config, set_, stage or ["train"], None, force)


@app.command("eval")
@guarded
def eval_(config: Path = ConfigArg, force: bool = typer.Option(False, "--force"),
          set_: Optional[list[str]] = SetOpt) -> None:
    """Score every model on held-out text and questions; write eval/results.json."""
    _run(config, set_, ["eval"], None, force)


@app.command()
@guarded
def export(config: Path = ConfigArg, force: bool = typer.Option(False, "--force"),
           set_: Optional[list[str]] = SetOpt) -> None:
    """Write the newest model as a merged Hugging Face folder in export/merged."""
    _run(config, set_, ["export"], None, force)


@app.command()
@guarded
def init(name: str = typer.Argument(..., help="Name of the persona run (letters, digits, . _ -)."),
         directory: Path = typer.Option(Path("."), "--dir", help="Where to write NAME.yaml."),
         force: bool = typer.Option(False, "--force", help="Overwrite an existing file.")) -> None:
    """Write a commented starter config NAME.yaml."""
    from doppel.starter import write_starter

    path = write_starter(name, directory, force)
    typer.echo(f"wrote {path}; edit persona and sources, then: doppel run {path}")


@app.command()
@guarded
def chat(run_dir: Path = typer.Argument(..., help="A run folder written by 'doppel run'."),
         model: Optional[str] = typer.Option(None, "--model", help="export, sft, cpt or pretrain (default: newest)."),
         max_new_tokens: int = typer.Option(120, "--max-new-tokens")) -> None:
    """Chat with the run's newest model in the terminal (streaming)."""
    from doppel.config import load_config
    from doppel.errors import UserError
    from doppel.modeling.device import resolve_device
    from doppel.modeling.loading import load_model, newest_model, stage_model
    from doppel.serve.chat import repl

    from doppel.modeling import quiet_libraries

    cfg = load_config(run_dir)
    quiet_libraries()
    if model:
        src = stage_model(cfg.run_dir, model)
        if src is None:
            raise UserError(f"{run_dir} has no '{model}' model; choose export, sft, cpt or pretrain")
    else:
        src = newest_model(cfg.run_dir)
    typer.echo(f"model: {src.describe()}")
    mdl, tok = load_model(src, device=resolve_device(cfg.train.device))
    settings = cfg.eval.generation.model_copy(update={"max_new_tokens": max_new_tokens})
    repl(mdl, tok, cfg.persona.prompt(), settings, cfg.persona.name.split()[0])


@app.command()
@guarded
def demo(out: Path = typer.Option(Path("runs/demo"), "--out", help="Run folder for the demo."),
         seed: int = typer.Option(0, "--seed", help="Seed of the generated persona corpus."),
         scale: float = typer.Option(1.0, "--scale", help="Corpus size multiplier (0.05 for a quick look)."),
         force: bool = typer.Option(False, "--force"), set_: Optional[list[str]] = SetOpt) -> None:
    """Generate the fictional demo persona's sources and run the whole pipeline on them."""
    from doppel.demo.config import prepare_demo

    config = prepare_demo(out, seed, scale)
    typer.echo(f"demo sources and config written under {out}")
    ws = _run(config, set_, None, None, force)
    typer.echo(f"\nchat with it: doppel chat {ws.root}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
