"""The chat REPL streams replies, keeps history, and honours /reset and /exit."""

import io

from doppel.config import GenerationSettings
from doppel.modeling.loading import ModelSource, load_model
from doppel.serve.chat import repl
from doppel.serve.engines import HFEngine
from tests.conftest import doppel


class Recorder(HFEngine):
    """An engine that records the conversations the model was shown."""

    def __init__(self, model, tok):
        super().__init__(model, tok, "tiny")
        self.prompts = []

    def chat_ids(self, messages):
        self.prompts.append([dict(m) for m in messages])
        return super().chat_ids(messages)


def test_repl_history_reset_and_exit(tiny_model_dir):
    model, tok = load_model(ModelSource("m", str(tiny_model_dir)))
    rec = Recorder(model, tok)
    out = io.StringIO()
    settings = GenerationSettings(max_new_tokens=5, do_sample=False)
    n = repl(rec, "You are Mara.", settings, "Mara",
             stdin=io.StringIO("hello\nagain\n/reset\nfresh\n/exit\nnever read\n"), stdout=out)
    assert n == 3
    roles = [[m["role"] for m in p] for p in rec.prompts]
    assert roles[0] == ["system", "user"]
    assert roles[1] == ["system", "user", "assistant", "user"]  # history kept
    assert roles[2] == ["system", "user"] and rec.prompts[2][1]["content"] == "fresh"  # after /reset
    text = out.getvalue()
    assert "(conversation reset)" in text and text.count("Mara> ") == 3


def test_chat_command_on_a_finished_run(tiny_run):
    _, run_dir, _ = tiny_run
    import json

    proc = doppel("chat", run_dir, "--max-new-tokens", "8", input="Tell me about tides\n/exit\n")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Mara> " in proc.stdout
    # Default backend "auto": the GGUF the export chose when there is one, else the merged HF folder.
    parity = json.loads((run_dir / "export" / "parity.json").read_text())
    if parity.get("chosen"):
        assert parity["file_names"][parity["chosen"]] in proc.stdout and "(gguf)" in proc.stdout
    else:
        assert "export/merged" in proc.stdout and "(hf)" in proc.stdout
    hf = doppel("chat", run_dir, "--backend", "hf", "--max-new-tokens", "8", input="Hello\n/exit\n")
    assert hf.returncode == 0 and "export/merged" in hf.stdout and "(hf)" in hf.stdout, hf.stderr[-2000:]
