"""A practice run without a window: clock, shots, tremor at submission, the envelope's aim,
the log."""

from __future__ import annotations

from needlesim.core.model.scene import Side
from needlesim.core.model.trajectory import Trajectory
from needlesim.teaching.exercise import Exercise, Level
from needlesim.teaching.practice import PracticeRun, envelope_aim
from needlesim.teaching.practice_log import PracticeLog


def clock(times):
    it = iter(times)
    return lambda: next(it)


def test_a_run_counts_shots_scores_logs_and_draws_the_envelope_aim(analytic_scene, tmp_path):
    ex = Exercise("built-in-1", Level.BUILTIN, Side.LEFT)
    log = PracticeLog(tmp_path / "log.sqlite")
    run = PracticeRun(ex, analytic_scene, log=log, clock=clock([100.0, 142.5]))
    run.shot(), run.shot()
    aim = Trajectory("left-psis", 20.0, 30.0, 70.0)
    res = run.submit(aim)
    assert res.time_s == 42.5 and res.submitted == aim and res.draw is None and res.risk is None
    assert res.score.fluoro_shots == 2 and res.score.part("fluoroscopy").points == 8.0
    assert run.shot() == 2  # no shots after Submit
    assert run.submit(Trajectory("left-psis", 0.0, 0.0, 10.0)) is res  # one submission per exercise
    ref = res.reference.evaluation.trajectory  # no left-entry in this scene: from the PSIS
    assert (ref.entry, ref.lateral_deg, ref.inferior_deg, ref.depth_mm) == ("left-psis", 30.0, 22.5, 60.0)
    (row,) = log.attempts()
    assert (row.exercise, row.level, row.score, row.time_s) == ("built-in-1", "built-in", res.score.total, 42.5)
    assert res.lines()[0].startswith(f"Score {res.score.total:.1f} / 100")


def test_tremor_jitters_the_submission_and_reports_the_breach_probability(analytic_scene):
    ex = Exercise("tremor-1", Level.TREMOR, Side.LEFT, seed=1, tremor=True)
    aim = Trajectory("left-psis", 0.0, 0.0, 60.0)
    a = PracticeRun(ex, analytic_scene, tremor_seed=9).submit(aim)
    b = PracticeRun(ex, analytic_scene, tremor_seed=9).submit(aim)
    assert a.submitted == b.submitted and a.submitted != aim and a.aim == aim
    assert a.report.evaluation.trajectory == a.submitted
    assert a.risk is not None and a.risk.p_any == 0.0 and a.risk.samples == 2000
    assert any(line.startswith("tremor moved the aim") for line in a.lines())
    assert any("breaches 0.0 % of the time" in line for line in a.lines())


def test_the_envelope_aim_prefers_the_harvest_entry(builtin_scene):
    from needlesim.core.verdict.envelope import load_envelope

    t = envelope_aim(load_envelope("nam2019"), builtin_scene, Exercise("x", Level.BUILTIN, Side.RIGHT))
    assert t.entry == "right-entry" and (t.lateral_deg, t.inferior_deg, t.depth_mm) == (30.0, 22.5, 60.0)
