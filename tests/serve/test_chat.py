"""The chat REPL streams replies, keeps history, and honours /reset and /exit."""

import io

from doppel.config import GenerationSettings
from doppel.modeling.loading import ModelSource, load_model
from doppel.serve.chat import repl
from tests.conftest import doppel


class Recorder:
    """Wraps a tokenizer to record the conversations the model was shown."""

    def __init__(self, tok):
        self._tok, self.prompts = tok, []

    def apply_chat_template(self, messages, **kw):
        self.prompts.append([dict(m) for m in messages])
        return self._tok.apply_chat_template(messages, **kw)

    def __getattr__(self, name):
        return getattr(self._tok, name)


def test_repl_history_reset_and_exit(tiny_model_dir):
    model, tok = load_model(ModelSource("m", str(tiny_model_dir)))
    rec = Recorder(tok)
    out = io.StringIO()
    settings = GenerationSettings(max_new_tokens=5, do_sample=False)
    n = repl(model, rec, "You are Mara.", settings, "Mara",
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
    proc = doppel("chat", run_dir, "--max-new-tokens", "8", input="Tell me about tides\n/exit\n")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "export/merged" in proc.stdout and "Mara> " in proc.stdout
