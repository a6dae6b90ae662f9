"""The local web page for human A/B votes (standard-library HTTP server, no JavaScript needed).

GET / shows the next unjudged question with its two anonymised answers and three buttons;
POST /vote stores the vote and returns to /. GET /results.json gives the live statistics.
"""

from __future__ import annotations

import html
import json
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from doppel.evaluate import human

STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
.answers{display:grid;grid-template-columns:1fr 1fr;gap:1rem}.answer{border:1px solid #ccc;border-radius:8px;
padding:1rem;white-space:pre-wrap}button{font-size:1rem;padding:.6rem 1.2rem;margin:.3rem;cursor:pointer}
.q{font-size:1.15rem;background:#f4f4f4;padding:1rem;border-radius:8px}.meta{color:#666}"""


def page(persona: str, pair: dict | None, done: int, total: int) -> str:
    head = (f"<!doctype html><html><head><meta charset='utf-8'><title>Which sounds like {html.escape(persona)}?"
            f"</title><style>{STYLE}</style></head><body><h1>Which answer sounds more like {html.escape(persona)}?</h1>"
            f"<p class='meta' id='progress'>{done} of {total} pairs judged</p>")
    if pair is None:
        return head + "<p id='finished'>All pairs are judged. Thank you! The results are in eval/report.html " \
                      "(run the eval again, or stop this page with Ctrl-C to update it).</p></body></html>"
    buttons = "".join(f"<button type='submit' name='choice' value='{v}' id='vote-{v}'>{label}</button>"
                      for v, label in (("left", "Answer 1"), ("tie", "Tie / can't tell"), ("right", "Answer 2")))
    return head + (
        f"<p class='q' id='question'>{html.escape(pair['question'])}</p><div class='answers'>"
        f"<div class='answer' id='answer-left'><b>Answer 1</b>\n{html.escape(pair['left'])}</div>"
        f"<div class='answer' id='answer-right'><b>Answer 2</b>\n{html.escape(pair['right'])}</div></div>"
        f"<form method='post' action='/vote'><input type='hidden' name='pair' value='{pair['id']}'>"
        f"{buttons}</form></body></html>")


def make_server(db_path: Path, persona: str, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    lock = threading.Lock()
    db = human.connect(db_path)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep the terminal for the summary
            pass

        def _send(self, code: int, body: str, kind: str = "text/html; charset=utf-8", extra: dict = {}):
            data = body.encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/results.json":
                return self._send(200, json.dumps(human.human_results(db_path)), "application/json")
            if self.path not in ("/", "/index.html"):
                return self._send(404, "not found", "text/plain")
            with lock:
                pair, (done, total) = human.next_pair(db), human.progress(db)
            self._send(200, page(persona, pair, done, total))

        def do_POST(self):
            if self.path != "/vote":
                return self._send(404, "not found", "text/plain")
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode("utf-8"))
            try:
                pair_id, choice = int(form["pair"][0]), form["choice"][0]
                with lock:
                    human.record_vote(db, pair_id, choice, self.client_address[0])
            except (KeyError, ValueError, IndexError):
                return self._send(400, "a vote needs pair and choice (left, right or tie)", "text/plain")
            self._send(303, "", extra={"Location": "/"})

    server = ThreadingHTTPServer((host, port), Handler)
    server.db = db  # closed by the caller after shutdown
    return server


def prepare(run_dir: Path, questions: int | None = None, models: list[str] | None = None, seed: int = 0) -> Path:
    """The votes database with its pairs, made from the eval samples the first time."""
    from doppel.errors import UserError

    eval_dir = Path(run_dir) / "eval"
    samples = human.load_samples(eval_dir, models)
    if len(samples) < 2:
        raise UserError(f"{eval_dir / 'samples'} has answers from fewer than two models; run "
                        f"'doppel eval {run_dir}' first (or name at least two models with --models)")
    db_path = eval_dir / human.VOTES_DB
    db = human.connect(db_path)
    try:
        if human.ensure_pairs(db, samples, seed, questions) == 0:
            raise UserError("the models' samples share no question; rerun 'doppel eval' for all of them")
    finally:
        db.close()
    return db_path


def update_report(run_dir: Path) -> dict | None:
    """Put the human votes into eval/results.json and eval/report.html (which keeps the GGUF rows:
    the votes are no part of what they were scored against, doppel.eval_results.digest)."""
    from doppel import eval_results
    from doppel.config import load_config
    from doppel.evaluate.report import write_report
    from doppel.workspace import Workspace, atomic_write_json

    ws = Workspace(Path(run_dir))
    path = ws.eval / eval_results.RESULTS
    if not path.exists() or not (ws.eval / human.VOTES_DB).exists():
        return None
    results = json.loads(path.read_text(encoding="utf-8"))
    results["human"] = human.human_results(ws.eval / human.VOTES_DB)
    atomic_write_json(path, results)
    write_report(ws, eval_results.load(ws.eval), load_config(Path(run_dir)).persona)
    return results["human"]


def serve(run_dir: Path, host: str, port: int, questions: int | None, models: list[str] | None,
          echo=print) -> None:
    """Serve the vote page until Ctrl-C, then write the votes into the report."""
    from doppel.config import load_config

    persona = load_config(Path(run_dir)).persona.name
    db_path = prepare(run_dir, questions, models)
    server = make_server(db_path, persona, host, port)
    done, total = human.progress(server.db)
    echo(f"human A/B votes: http://{host}:{server.server_address[1]}/  ({done} of {total} pairs judged "
         f"so far; Ctrl-C to stop, votes are kept)")
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    # Explicit handlers: a process started in the background inherits an ignored SIGINT,
    # and a service manager stops with SIGTERM; both must still save and summarise.
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.db.close()
    summary = update_report(run_dir)
    if summary:
        echo(f"{summary['votes']} votes; win rates: " + ", ".join(
            f"{m} {w['win_rate']}" for m, w in summary["win_rates"].items()))
