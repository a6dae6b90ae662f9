"""The signal a reader raises for input it cannot use; the ingest stage counts its reasons.

Its own module because decoding and every reader raise it, and the readers' shared helpers
(base.py) decode: neither of those two may import the other's module for it.
"""

from __future__ import annotations


class Rejected(Exception):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
