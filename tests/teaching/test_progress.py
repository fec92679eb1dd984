"""The progress figure: one line per level, in time order, the scores as logged."""

from __future__ import annotations

from dataclasses import replace

import pytest

from needlesim.teaching.practice_log import AttemptRecord
from needlesim.teaching.progress import progress_figure, series, summary

BASE = AttemptRecord(0, "", "", "e", "built-in", "s", "left", "left-psis", 30, 22.5, 60, "left-psis", 30, 22.5, 60,
                     0.0, "safe", {}, [], 0, 1.0, "0")


def rows(spec):
    return [replace(BASE, id=i + 1, level=lv, score=s) for i, (lv, s) in enumerate(spec)]


def test_series_and_summary_by_level():
    a = rows([("unseen", 40.0), ("built-in", 60.0), ("built-in", 80.0), ("tremor", 10.0), ("unseen", 70.0)])
    s = series(list(reversed(a)))  # order of the rows does not matter: the ids do
    assert list(s) == ["built-in", "unseen", "tremor"]  # the levels' order, not the first seen
    assert s["built-in"] == ([2, 3], [60.0, 80.0]) and s["unseen"] == ([1, 5], [40.0, 70.0])
    (b, u, t) = summary(a)
    assert (b.attempts, b.mean, b.best, b.last) == (2, 70.0, 80.0, 80.0)
    assert u.words() == "unseen: 2 attempts, mean 55.0, best 70.0, last 70.0"


def test_the_figure_draws_one_line_per_level():
    fig = progress_figure(rows([("built-in", 60.0), ("unseen", 40.0), ("built-in", 90.0)]))
    ax = fig.axes[0]
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert set(lines) == {"built-in", "unseen"}
    assert list(lines["built-in"].get_xdata()) == [1, 3] and list(lines["built-in"].get_ydata()) == [60.0, 90.0]
    assert ax.get_ylim() == pytest.approx((0, 102))
    from needlesim.teaching.progress import LEVEL_COLORS

    alone = progress_figure(rows([("tremor", 50.0)])).axes[0].get_lines()[0]
    assert alone.get_color() == LEVEL_COLORS[4]  # a level keeps its colour when others are absent
    empty = progress_figure([])
    assert "no attempts yet" in [t.get_text() for t in empty.axes[0].texts]
