"""The chat REPL: streams the model's replies, keeps the conversation, /reset and /exit.

It talks to an engine (`doppel.serve.engines`), so transformers and GGUF models chat alike.
"""

from __future__ import annotations

import sys
from typing import TextIO

from doppel.config import GenerationSettings
from doppel.serve.engines import Engine, Finish

HELP = "Type a message. /reset starts a new conversation, /exit (or Ctrl-D) leaves."


def repl(engine: Engine, system_prompt: str, settings: GenerationSettings, name: str,
         stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    """Run the loop until /exit or end of input; returns the number of replies given."""
    history: list[dict] = [{"role": "system", "content": system_prompt}]
    replies = 0
    stdout.write(HELP + "\n")
    while True:
        stdout.write("you> ")
        stdout.flush()
        line = stdin.readline()
        if not line:
            stdout.write("\n")
            break
        text = line.strip()
        if not text:
            continue
        if text == "/exit":
            break
        if text == "/reset":
            history = history[:1]
            stdout.write("(conversation reset)\n")
            continue
        history.append({"role": "user", "content": text})
        stdout.write(f"{name}> ")
        pieces = []
        for piece in engine.stream(engine.chat_ids(history), settings):
            if isinstance(piece, Finish):
                continue
            pieces.append(piece)
            stdout.write(piece)
            stdout.flush()
        stdout.write("\n")
        history.append({"role": "assistant", "content": "".join(pieces).strip()})
        replies += 1
    return replies
