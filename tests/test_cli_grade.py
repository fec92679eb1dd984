"""``needlesim grade``: every input row kept, scores for good rows, reasons for bad ones, exit 0."""

from __future__ import annotations

import csv

import pytest

from needlesim.cli import main


@pytest.fixture()
def table(tmp_path):
    rows = [
        "trainee,entry,lateral_deg,inferior_deg,depth_mm,side,note",
        "ana,left-entry,30,22.5,60,,centre",
        "ben,left-entry,-46,18,80,,nam",
        "cai,left-entry,abc,18,80,,typo",
        "dee,nowhere,30,22.5,60,,bad landmark",
        "eve,\"-30,20,5\",30,22.5,60,,coordinates without side",
        "fay,right-entry,30,22.5,400,,too deep",
        "gus,left-entry,30,22.5,60,up,bad side",
    ]
    p = tmp_path / "attempts.csv"
    p.write_text("\n".join(rows) + "\n")
    return p


def test_grading_keeps_every_row_and_gives_reasons(table, tmp_path, capsys):
    out = tmp_path / "grades.csv"
    assert main(["grade", str(table), "-o", str(out)]) == 0
    rows = list(csv.DictReader(open(out, newline="")))
    assert [r["trainee"] for r in rows] == ["ana", "ben", "cai", "dee", "eve", "fay", "gus"]
    assert [r["note"] for r in rows][0] == "centre"  # input columns kept
    ana, ben, cai, dee, eve, fay, gus = rows
    assert ana["status"] == "ok" and float(ana["score"]) == 100.0 and ana["verdict"] == "safe"
    assert float(ana["part_envelope"]) == 30.0
    assert ben["status"] == "ok" and ben["verdict"] == "danger" and float(ben["part_envelope"]) == 8.0
    assert "touches the left S2 root at 78.2 mm" in ben["reasons"] and float(ben["score"]) < 30
    assert cai["status"] == "error" and cai["reasons"] == "lateral_deg 'abc' is not a number" and cai["score"] == ""
    assert "'nowhere' is not a landmark" in dee["reasons"]
    assert "needs side" in eve["reasons"]
    assert "depth 400 mm is out of range" in fay["reasons"]
    assert gus["reasons"] == "side 'up' is not left or right"
    assert "7 rows graded, 5 with errors" in capsys.readouterr().out


def test_a_table_without_a_column_is_one_error_and_no_file(tmp_path, capsys):
    p = tmp_path / "t.csv"
    p.write_text("trainee,entry,lateral_deg,depth_mm\nana,left-entry,30,60\n")
    out = tmp_path / "g.csv"
    assert main(["grade", str(p), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing column inferior_deg" in err[0]
    assert not out.exists()
    assert main(["grade", str(tmp_path / "none.csv"), "-o", str(out)]) == 2
    assert "cannot read" in capsys.readouterr().err and not out.exists()


def test_scene_folders_and_seeds_per_row(tmp_path, analytic_scene):
    from tests.conftest import write_manifest

    (tmp_path / "slab").mkdir()
    write_manifest(analytic_scene, tmp_path / "slab")
    p = tmp_path / "t.csv"
    p.write_text("trainee,entry,lateral_deg,inferior_deg,depth_mm,scene,seed\n"
                 "a,left-psis,0,0,100,slab,\n"          # relative to the table's folder
                 "b,left-psis,0,0,100,missing,\n"
                 "c,left-psis,0,0,100,slab,4\n"
                 "d,left-psis,0,0,100,,x1\n")
    out = tmp_path / "g.csv"
    assert main(["grade", str(p), "-o", str(out)]) == 0
    a, b, c, d = csv.DictReader(open(out, newline=""))
    # the slab: marrow 52-68 mm before the inner table at 70 mm; lateral 25 deg and inferior
    # 20 deg outside (rules empty), depth 40 mm over (rule empty); the root 40 mm aside
    assert a["status"] == "ok" and float(a["part_yield"]) == 12.0 and float(a["part_envelope"]) == 0.0
    assert b["status"] == "error" and b["reasons"].startswith("scene missing:")
    assert c["reasons"] == "give scene or seed, not both"
    assert d["reasons"] == "seed 'x1' is not a whole number >= 0"


@pytest.mark.parametrize("kind, message", [("binary", "is not UTF-8 text"), ("fifo", "not a regular file"), ("empty", "is empty"),
                                           ("clash", "would be overwritten by the grade")])
def test_unreadable_tables_are_one_line_exit_2(tmp_path, capsys, kind, message):
    import os

    p = tmp_path / "t.csv"
    head = "trainee,entry,lateral_deg,inferior_deg,depth_mm"
    if kind == "fifo":
        os.mkfifo(p)
    else:
        p.write_bytes({"binary": b"\xff\xfe\x00garbage\x80" * 40,
                       "empty": b"", "clash": (head + ",score\na,left-entry,1,2,3,9\n").encode()}[kind])
    out = tmp_path / "g.csv"
    assert main(["grade", str(p), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and not out.exists()


def test_bad_outputs_are_refused_before_any_work(tmp_path, table, capsys):
    assert main(["grade", str(table), "-o", str(tmp_path / "g.txt")]) == 2
    assert main(["grade", str(table), "-o", str(tmp_path / "no" / "g.csv")]) == 2
    assert main(["grade", str(table), "-o", str(table)]) == 2
    err = capsys.readouterr().err
    assert "must end in .csv" in err and "does not exist" in err and "overwrite the table" in err
