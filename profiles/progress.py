"""A small progress bar for management commands (no third-party package needed)."""

import time
from typing import TextIO


class ProgressBar:
    """Redraws one line on a terminal; prints a line every tenth of the way otherwise."""

    def __init__(self, total: int, *, stream: TextIO, label: str = "", width: int = 30) -> None:
        self.total = max(total, 0)
        self.stream = stream
        self.label = label
        self.width = width
        self.done = 0
        self.started = time.monotonic()
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._last_decile = -1

    def advance(self, amount: int) -> None:
        self.done += amount
        if self.tty:
            self.stream.write("\r" + self.render())
            self.stream.flush()
            return
        decile = 10 * self.done // self.total if self.total else 10
        if decile != self._last_decile:
            self._last_decile = decile
            self.stream.write(self.render() + "\n")

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\r" + self.render() + "\n")
            self.stream.flush()

    def render(self) -> str:
        fraction = min(self.done / self.total, 1.0) if self.total else 1.0
        filled = int(self.width * fraction)
        rate = self.done / max(time.monotonic() - self.started, 1e-6)
        bar = "#" * filled + "-" * (self.width - filled)
        return f"{self.label}[{bar}] {fraction:4.0%} {self.done:,}/{self.total:,} ({rate:,.0f}/s)"
