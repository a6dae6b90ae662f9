"""OpenAI `stop` strings over a stream of text pieces: a stop may span two pieces.

The filter holds back the last few characters that could still be the start of a stop
string, and drops everything from the first stop on.
"""

from __future__ import annotations


class StopFilter:
    def __init__(self, stops: list[str]):
        self.stops = [s for s in stops if s]
        self.hold = max((len(s) for s in self.stops), default=1) - 1
        self.buffer = ""
        self.hit = False

    def feed(self, piece: str) -> str:
        """The text that can be sent now."""
        if self.hit:
            return ""
        if not self.stops:
            return piece
        self.buffer += piece
        cut = min((i for i in (self.buffer.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self.hit = True
            out, self.buffer = self.buffer[:cut], ""
            return out
        keep = self._partial_tail()
        out = self.buffer[: len(self.buffer) - keep]
        self.buffer = self.buffer[len(self.buffer) - keep:]
        return out

    def _partial_tail(self) -> int:
        """Length of the longest buffer suffix that is a proper prefix of some stop string."""
        for n in range(min(self.hold, len(self.buffer)), 0, -1):
            tail = self.buffer[-n:]
            if any(s.startswith(tail) for s in self.stops):
                return n
        return 0

    def flush(self) -> str:
        out, self.buffer = ("" if self.hit else self.buffer), ""
        return out
