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
PlanOpt = typer.Option(False, "--plan", help="Print each stage: run, skip (up to date) or disabled, why, and the model "
                       "it starts from; check what the stages to run need. Runs nothing.")


def _console():
    from rich.console import Console

    return Console(stderr=False, highlight=False)


def guarded(fn: Callable) -> Callable:
    """Turn user errors into one paragraph and exit code 2 (a traceback only with --debug)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from doppel.errors import TrainingStopped, UserError

        try:
            return fn(*args, **kwargs)
        except UserError as err:
            if STATE["debug"]:
                raise
            print(f"error: {err}", file=sys.stderr)
            raise typer.Exit(2) from None
        except TrainingStopped as err:
            print(f"\nstopped: {err}", file=sys.stderr)
            raise typer.Exit(130) from None
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


def _plan(cfg, names: list[str], force: bool) -> None:
    """Print what `run` would do, stage by stage, and what is missing; write nothing."""
    from doppel import pipeline
    from doppel.stagegraph import plan_lines
    from doppel.workspace import Workspace

    pipeline.validate(cfg)
    ws = Workspace(cfg.run_dir)
    steps, problems = pipeline.plan_run(cfg, ws, names, force)
    typer.echo(f"run folder: {ws.root}\nplan (nothing runs):")
    typer.echo("\n".join(plan_lines(steps, problems)))


def _run(config: Path, overrides, stages: list[str] | None, start: str | None, force: bool, plan: bool = False,
         resume: str = "auto"):
    from doppel import pipeline

    cfg = _load(config, overrides)
    if plan:
        return _plan(cfg, pipeline.selected(stages, start), force)
    ws = pipeline.prepare(cfg)
    console = _console()
    console.print(f"run folder: {ws.root}")
    names = pipeline.selected(stages, start)
    from doppel.train.distributed import is_main

    # With several training processes only rank 0 reports; the others would repeat it.
    pipeline.run_pipeline(cfg, ws, names, force=force, report=_reporter(console) if is_main() else None,
                          resume=resume)
    if {"eval", "report"} & set(names) and (ws.eval / "results.json").exists():
        from doppel.evaluate.report import print_results

        print_results(ws.eval, console)
    return ws


@app.command()
@guarded
def run(config: Path = ConfigArg,
        force: bool = typer.Option(False, "--force", help="Rerun stages even when they are up to date."),
        only: Optional[list[str]] = typer.Option(None, "--only", help="Run only this stage (repeatable)."),
        start: Optional[str] = typer.Option(None, "--from", help="Start at this stage."),
        plan: bool = PlanOpt, set_: Optional[list[str]] = SetOpt) -> None:
    """Run every stage in order, skipping stages whose inputs and settings did not change."""
    _run(config, set_, only, start, force, plan)


@app.command()
@guarded
def ingest(targets: list[str] = typer.Argument(..., metavar="CONFIG | PATH_OR_URL...",
                                               help="A config YAML or run folder; or files, folders and URLs to read."),
           out: Optional[Path] = typer.Option(None, "--out", help="Output folder when reading paths or URLs directly."),
           speaker: Optional[str] = typer.Option(None, "--speaker", help="The person, as transcripts label them."),
           alias: Optional[list[str]] = typer.Option(None, "--alias", help="Another label of the person (repeatable)."),
           list_speakers: bool = typer.Option(False, "--list-speakers", help="Print every speaker's turns and words."),
           strict: bool = typer.Option(False, "--strict", help="Fail when any input is rejected."),
           force: bool = typer.Option(False, "--force"), set_: Optional[list[str]] = SetOpt) -> None:
    """Read sources into corpus/documents.jsonl and corpus/ingest_report.json."""
    from doppel.errors import UserError
    from doppel.ingest.quick import is_config, run_direct, show_speakers

    console = _console()
    if len(targets) == 1 and is_config(targets[0]):
        if out or speaker or alias:
            raise UserError("--out, --speaker and --alias are for reading paths or URLs directly; with a "
                            "config, set run_dir and persona (name, aliases) in the config instead")
        overrides = [*(set_ or []), *(["ingest.strict=true"] if strict else [])]
        ws = _run(Path(targets[0]), overrides, ["ingest"], None, force)
    else:
        ws = run_direct(targets, out, speaker, alias or [], strict, _reporter(console))
    if list_speakers:
        show_speakers(ws, console)


@app.command()
@guarded
def build(config: Path = ConfigArg, force: bool = typer.Option(False, "--force"),
          check: bool = typer.Option(False, "--check", help="Then validate every dataset: roles, empty "
                                     "messages, missing answers, over-length examples; token counts per split."),
          set_: Optional[list[str]] = SetOpt) -> None:
    """Build the datasets: tokenizer, CPT chunks, SFT dialogues, held-out split."""
    ws = _run(config, set_, ["build"], None, force)
    if check:
        from doppel.data.check import run_check

        if not run_check(_load(config, set_), ws, _console()):
            raise typer.Exit(1)


@app.command()
@guarded
def synth(config: Path = ConfigArg, force: bool = typer.Option(False, "--force"),
          set_: Optional[list[str]] = SetOpt) -> None:
    """Teacher-made training data: questions, answers, scores, identity examples, preference pairs."""
    _run(config, set_, ["synth"], None, force)


@app.command()
@guarded
def estimate(config: Path = ConfigArg,
             as_json: bool = typer.Option(False, "--json", help="Print the estimate as JSON."),
             set_: Optional[list[str]] = SetOpt) -> None:
    """Before spending anything: corpus size, teacher cost, training tokens, GPU-hours and memory."""
    from doppel.data.estimate import estimate as make_estimate, print_estimate
    from doppel.workspace import atomic_write_json

    cfg = _load(config, set_)
    result = make_estimate(cfg)
    path = cfg.run_dir / "estimate.json"
    atomic_write_json(path, result)
    if as_json:
        import json

        typer.echo(json.dumps(result, indent=2))
    else:
        print_estimate(result, _console())
        typer.echo(f"saved {path}")


@app.command()
@guarded
def train(config: Path = ConfigArg,
          stages: Optional[list[str]] = typer.Argument(None, metavar="[STAGE]...",
                                                       help="pretrain, cpt, sft, pref, reward, rl; all by default."),
          stage: Optional[list[str]] = typer.Option(None, "--stage", help="A stage to train (repeatable; same as STAGE)."),
          resume: bool = typer.Option(False, "--resume", help="Continue the first stage from its last checkpoint "
                                      "(optimizer, schedule and data order restored); fail if there is none."),
          restart: bool = typer.Option(False, "--restart", help="Discard checkpoints and train from the start."),
          num_processes: int = typer.Option(1, "--num-processes", min=1, help="Training processes (DDP): GPUs "
                                            "through accelerate, CPU processes through torch.distributed (gloo)."),
          force: bool = typer.Option(False, "--force"), set_: Optional[list[str]] = SetOpt) -> None:
    """Train: pretrain the base (when built from scratch), continued pretraining, SFT, and when enabled
    preference tuning, the reward model and RL (GRPO).

    An interrupted stage continues from its last checkpoint when run again; Ctrl-C during training
    saves a checkpoint first.
    """
    from doppel.errors import UserError
    from doppel.pipeline import GROUPS
    from doppel.train import distributed

    names = [*(stages or []), *(stage or [])] or ["train"]
    wrong = [n for n in names if n != "train" and n not in GROUPS["train"]]
    if wrong:
        raise UserError(f"'{wrong[0]}' is not a training stage; 'doppel train' runs {', '.join(GROUPS['train'])} "
                        f"(use 'doppel run CONFIG --only {wrong[0]}' for other stages)")
    if resume and restart:
        raise UserError("--resume and --restart contradict each other; pass one of them")
    choice = "require" if resume else "restart" if restart else "auto"  # see train.checkpoints.RESUME_CHOICES
    if num_processes > 1 and not distributed.is_worker():
        import torch

        cfg = _load(config, set_)
        cuda = cfg.train.device != "cpu" and torch.cuda.is_available()
        worker = ["train", str(config), *[a for n in names for a in ("--stage", n)],
                  *[a for kv in set_ or [] for a in ("--set", kv)],
                  *(["--resume"] if resume else []), *(["--restart"] if restart else []),
                  *(["--force"] if force else [])]
        code = distributed.launch(num_processes, worker, cuda, cfg.train.accelerate_config)
        if code:
            raise typer.Exit(code)
        return
    distributed.init()
    _run(config, set_, names, None, force, resume=choice)


@app.command("eval")
@guarded
def eval_(config: Path = typer.Argument(..., help="A config YAML file or run folder; or 'human' followed by RUN_DIR."),
          run_dir: Optional[Path] = typer.Argument(None, help="With 'human': the run folder to vote on."),
          force: bool = typer.Option(False, "--force"), set_: Optional[list[str]] = SetOpt,
          host: str = typer.Option("127.0.0.1", "--host", help="human: address of the vote page."),
          port: int = typer.Option(8765, "--port", help="human: port of the vote page (0 = any free port)."),
          questions: Optional[int] = typer.Option(None, "--questions", help="human: questions to vote on."),
          models: Optional[str] = typer.Option(None, "--models", help="human: comma-separated models (default all).")) -> None:
    """Score every model on held-out text and questions (eval/results.json, eval/report.html).

    'doppel eval human RUN_DIR' starts a local page for blind A/B votes between the models' answers.
    """
    if str(config) == "human" and not config.exists():
        from doppel.errors import UserError
        from doppel.evaluate.human_page import serve

        if run_dir is None:
            raise UserError("'doppel eval human' needs the run folder: doppel eval human runs/NAME")
        serve(run_dir, host, port, questions, models.split(",") if models else None,
              echo=lambda line: print(line, flush=True))
        return
    _run(config, set_, ["eval", "report"], None, force)


@app.command()
@guarded
def export(config: Path = ConfigArg, force: bool = typer.Option(False, "--force"),
           gguf: Optional[str] = typer.Option(None, "--gguf", help="GGUF types to write, e.g. f16,q8_0,q4_k_m "
                                              "('none' for no GGUF); default: export.gguf of the config."),
           pick: bool = typer.Option(False, "--pick", help="Point the Modelfile at the smallest GGUF that passes "
                                     "the parity gate."),
           set_: Optional[list[str]] = SetOpt) -> None:
    """Merged HF folder, GGUF files checked by the parity gate, Ollama Modelfile and model card in export/."""
    overrides = list(set_ or [])
    if gguf is not None:
        types = [t.strip().lower() for t in gguf.split(",") if t.strip() and t.strip().lower() != "none"]
        overrides.append("export.gguf=[" + ",".join(types) + "]")
    if pick:
        overrides.append("export.pick=true")
    _run(config, overrides, ["export"], None, force)


@app.command()
@guarded
def init(name: str = typer.Argument(..., help="Name of the persona run (letters, digits, . _ -)."),
         directory: Path = typer.Option(Path("."), "--dir", help="Where to write NAME.yaml."),
         force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
         full: bool = typer.Option(False, "--full", help="Write every setting with its default, allowed "
                                   "values and description (from the schema), not the short starter.")) -> None:
    """Write a commented starter config NAME.yaml (every setting with --full)."""
    from doppel.starter import write_starter

    path = write_starter(name, directory, force, full)
    typer.echo(f"wrote {path}; edit persona and sources, then: doppel run {path}")


BackendOpt = typer.Option(None, "--backend", help="auto, hf (transformers) or gguf (llama.cpp); default: "
                          "serve.backend of the config (auto: the exported GGUF when there is one).")


@app.command()
@guarded
def chat(run_dir: Path = typer.Argument(..., help="A run folder written by 'doppel run'."),
         model: Optional[str] = typer.Option(None, "--model", help="export, sft, cpt or pretrain (default: newest)."),
         backend: Optional[str] = BackendOpt,
         gguf: Optional[str] = typer.Option(None, "--gguf", help="A GGUF file in export/ (with --backend gguf)."),
         max_new_tokens: int = typer.Option(120, "--max-new-tokens")) -> None:
    """Chat with the run's newest model in the terminal (streaming)."""
    from doppel.config import load_config
    from doppel.modeling import quiet_libraries
    from doppel.serve.chat import repl
    from doppel.serve.run import open_engine

    cfg = load_config(run_dir)
    quiet_libraries()
    engine = open_engine(cfg, _backend(backend, cfg), model, gguf)
    typer.echo(f"model: {engine.describe} ({engine.backend})")
    settings = cfg.eval.generation.model_copy(update={"max_new_tokens": max_new_tokens})
    repl(engine, cfg.persona.prompt(), settings, cfg.persona.name.split()[0])


def _backend(flag: Optional[str], cfg) -> str:
    from doppel.errors import UserError

    choice = (flag or cfg.serve.backend).lower()
    if choice not in ("auto", "hf", "gguf"):
        raise UserError(f"--backend {flag}: choose auto, hf or gguf")
    return choice


@app.command()
@guarded
def serve(run_dir: Path = typer.Argument(..., help="A run folder written by 'doppel run'."),
          host: Optional[str] = typer.Option(None, "--host", help="Address to listen on (default 127.0.0.1)."),
          port: Optional[int] = typer.Option(None, "--port", help="Port (default 8000)."),
          api_key: Optional[str] = typer.Option(None, "--api-key", help="Require this bearer token (or set "
                                                "DOPPEL_API_KEY)."),
          backend: Optional[str] = BackendOpt,
          model: Optional[str] = typer.Option(None, "--model", help="export, sft, cpt or pretrain (hf backend)."),
          gguf: Optional[str] = typer.Option(None, "--gguf", help="A GGUF file in export/ (gguf backend)."),
          grounded: Optional[bool] = typer.Option(None, "--grounded/--no-grounded", help="Put the person's most "
                                                  "relevant passages into the system prompt."),
          set_: Optional[list[str]] = SetOpt) -> None:
    """OpenAI-compatible HTTP server (/v1/chat/completions, /v1/completions, /v1/models) and web chat at /."""
    from doppel.modeling import quiet_libraries
    from doppel.serve.run import open_engine, resolve_api_key, serve_forever

    cfg = _load(run_dir, set_)
    updates = {k: v for k, v in (("host", host), ("port", port), ("grounded", grounded)) if v is not None}
    cfg.serve = cfg.serve.model_validate({**cfg.serve.model_dump(), **updates})
    quiet_libraries()
    engine = open_engine(cfg, _backend(backend, cfg), model, gguf)
    serve_forever(cfg, engine, resolve_api_key(api_key), announce=typer.echo)


@app.command()
@guarded
def demo(out: Path = typer.Option(Path("runs/demo"), "--out", help="Run folder for the demo."),
         seed: int = typer.Option(0, "--seed", help="Seed of the generated persona corpus."),
         scale: float = typer.Option(1.0, "--scale", help="Corpus size multiplier (0.05 for a quick look)."),
         from_scratch: bool = typer.Option(False, "--from-scratch",
                                           help="Pretrain a small base on the background corpus instead of "
                                                "fine-tuning the bundled SmolLM2-135M-Instruct."),
         force: bool = typer.Option(False, "--force"), plan: bool = PlanOpt,
         set_: Optional[list[str]] = SetOpt) -> None:
    """Generate the fictional demo persona's sources and run the whole pipeline on them."""
    from doppel.demo.config import prepare_demo

    config = prepare_demo(out, seed, scale, from_scratch)
    typer.echo(f"demo sources and config written under {out}")
    ws = _run(config, set_, None, None, force, plan)
    if not plan:
        typer.echo(f"\nchat with it: doppel chat {ws.root}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
