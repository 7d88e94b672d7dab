"""A tiny progress bar for long replays: drawn on a terminal only, silent otherwise."""

from __future__ import annotations

import time
from io import TextIOBase
from typing import TextIO

_WIDTH = 30


class Progress:
    """``Progress(total=N, stream=sys.stderr)``; ``advance()`` after each step, ``close()`` at
    the end. Draws nothing unless ``stream`` is a TTY (logs and pipes stay clean), and redraws
    at most ten times a second."""

    def __init__(self, *, total: int, stream: TextIO | TextIOBase, label: str = "") -> None:
        self.total = max(0, total)
        self.stream = stream
        self.label = label
        self.done = 0
        self.enabled = bool(getattr(stream, "isatty", lambda: False)())
        self._drawn_at = 0.0

    def advance(self, steps: int = 1) -> None:
        self.done += steps
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._drawn_at >= 0.1 or self.done >= self.total:
            self._drawn_at = now
            self._draw()

    def _draw(self) -> None:
        share = self.done / self.total if self.total else 1.0
        filled = round(_WIDTH * min(1.0, share))
        bar = "#" * filled + "." * (_WIDTH - filled)
        self.stream.write(f"\r{self.label}[{bar}] {self.done}/{self.total}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
