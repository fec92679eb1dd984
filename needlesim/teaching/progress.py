"""Progress: a trainee's scores over time, by exercise level, as a matplotlib figure (made
with :class:`matplotlib.figure.Figure`, no pyplot, so the app embeds it and a script saves
it) and as a per-level summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .exercise import LEVELS
from .practice_log import AttemptRecord

#: One colour per level, easiest first (colour-blind safe, Okabe-Ito).
LEVEL_COLORS = ("#0072B2", "#009E73", "#E69F00", "#D55E00", "#CC79A7")


@dataclass(frozen=True)
class LevelSummary:
    level: str
    attempts: int
    mean: float
    best: float
    last: float

    def words(self) -> str:
        return (f"{self.level}: {self.attempts} attempt{'s' if self.attempts != 1 else ''}, mean {self.mean:.1f}, "
                f"best {self.best:.1f}, last {self.last:.1f}")


def _ordered_levels(attempts: Sequence[AttemptRecord]) -> list[str]:
    known = [lv.value for lv in LEVELS]
    seen = {a.level for a in attempts}
    return [lv for lv in known if lv in seen] + sorted(seen - set(known))


def series(attempts: Sequence[AttemptRecord]) -> dict[str, tuple[list[int], list[float]]]:
    """Per level: the attempt numbers (1 = the oldest of all) and the scores."""
    out: dict[str, tuple[list[int], list[float]]] = {lv: ([], []) for lv in _ordered_levels(attempts)}
    for k, a in enumerate(sorted(attempts, key=lambda a: a.id), start=1):
        out[a.level][0].append(k)
        out[a.level][1].append(a.score)
    return out


def summary(attempts: Sequence[AttemptRecord]) -> list[LevelSummary]:
    out = []
    for level, (_, scores) in series(attempts).items():
        out.append(LevelSummary(level, len(scores), sum(scores) / len(scores), max(scores), scores[-1]))
    return out


def progress_figure(attempts: Sequence[AttemptRecord], *, figure=None):
    """Score (0-100) against attempt number, one line per level. Draws on ``figure`` (a
    :class:`matplotlib.figure.Figure`, e.g. the app's canvas figure) or a new one."""
    from matplotlib.figure import Figure

    fig = figure if figure is not None else Figure(figsize=(6.4, 3.6), dpi=100)
    fig.clear()
    ax = fig.add_subplot(1, 1, 1)
    data = series(attempts)
    known = [lv.value for lv in LEVELS]
    for k, (level, (x, y)) in enumerate(data.items()):
        c = known.index(level) if level in known else k  # a level keeps its colour
        ax.plot(x, y, marker="o", lw=1.5, color=LEVEL_COLORS[c % len(LEVEL_COLORS)], label=level)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, 102)
    ax.set_xlabel("attempt (oldest first)")
    ax.set_ylabel("score / 100")
    ax.grid(True, alpha=0.3)
    if data:
        ax.legend(loc="lower right", fontsize="small", title="level")
        ax.set_xlim(0.5, max(max(x) for x, _ in data.values()) + 0.5)
    else:
        ax.text(0.5, 0.5, "no attempts yet", transform=ax.transAxes, ha="center", va="center", color="0.4")
    ax.set_title("Practice: score over time, by level")
    fig.tight_layout()
    return fig
