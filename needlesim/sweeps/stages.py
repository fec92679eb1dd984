"""Progress of one long job made of named stages (building an individual, a scene).

On a terminal: one line redrawn in place, with a bar, the stage number and name, and the
time so far. Elsewhere (a log, a pipe): one line per stage as it starts, so a log shows
where the time went. Either way on stderr, so stdout stays clean for results.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TextIO

from .progress import _clock

#: Width of the bar, characters (as :class:`~needlesim.sweeps.progress.Progress`).
BAR_CHARS = 30


class StageProgress:
    """Call with each stage's name as it starts; :meth:`close` when done.

    Parameters
    ----------
    stages : sequence of str
        The stages expected, in order (a name not in it counts as the next one).
    label : str
        What is being done, e.g. ``"needlesim anatomy"``.
    bar : bool, optional
        Redraw one line with a bar (default: when ``stream`` is a terminal).
    """

    def __init__(self, stages: Sequence[str], *, label: str, stream: TextIO | None = None,
                 bar: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.stages, self.label = list(stages), label
        self.bar = self.stream.isatty() if bar is None else bool(bar)
        self.index, self.t0, self._width = 0, time.monotonic(), 0

    def __call__(self, name: str) -> None:
        k = self.stages.index(name) + 1 if name in self.stages[self.index:] else self.index + 1
        self.index = max(k, self.index)
        n = max(len(self.stages), self.index)
        elapsed = _clock(time.monotonic() - self.t0)
        if self.bar:
            filled = int(BAR_CHARS * (self.index - 1) / n)
            line = f"{self.label} [{'#' * filled}{'-' * (BAR_CHARS - filled)}] {self.index}/{n} {name} {elapsed}"
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
        else:
            self.stream.write(f"{self.label}: {self.index}/{n} {name} (at {elapsed})\n")
        self.stream.flush()

    def close(self, *, done: bool = True) -> None:
        """End the bar's line: full if the job is ``done``, as it stood if it failed."""
        if self.bar and self._width:
            line = f"{self.label} [{'#' * BAR_CHARS}] done in {_clock(time.monotonic() - self.t0)}"
            self.stream.write(("\r" + line.ljust(self._width) if done else "") + "\n")
            self.stream.flush()
