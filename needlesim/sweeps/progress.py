"""A one-line progress bar with an ETA on a terminal; silent when stderr is not one."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``Progress(total, enabled=None)``: ``None`` means "only if stderr is a terminal"."""

    def __init__(self, total: int, *, initial: int = 0, enabled: bool | None = None, label: str = "",
                 stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else bool(enabled)
        self.total, self.done, self.label = max(int(total), 1), int(initial), label
        self.start_done, self.t0 = self.done, time.monotonic()
        self._draw()

    def update(self, n: int = 1) -> None:
        self.done += n
        self._draw()

    def _draw(self) -> None:
        if not self.enabled:
            return
        frac = self.done / self.total
        bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
        rate_done = self.done - self.start_done
        elapsed = time.monotonic() - self.t0
        eta = "--:--" if rate_done <= 0 else _clock(elapsed / rate_done * (self.total - self.done))
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total} {100 * frac:3.0f}% ETA {eta} ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"
