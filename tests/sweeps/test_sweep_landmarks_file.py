"""``sweep --landmarks FILE`` sweeps from the corrected entries and records the file;
``map --landmarks FILE`` draws only a table swept with that file."""

from __future__ import annotations

from needlesim.core.io import markups
from needlesim.sweeps.table import read_table

SMALL = ["--lateral", "0:40:20", "--inferior", "0:30:30", "--depth", "0:100:50", "--workers", "1"]


def test_sweep_and_map_follow_the_landmarks_file(cli, scene_dir, tmp_path, capsys):
    """The analytic slab's ``left-psis`` moved 10 mm along its back: the table's entry point
    is the moved one and names the file; the map takes it, and refuses another file."""
    fix = markups.write_points(tmp_path / "fix.mrk.json", {"left-psis": [10.0, 20.0, 0.0]})
    other = markups.write_points(tmp_path / "other.mrk.json", {"left-psis": [12.0, 20.0, 0.0]})
    out = tmp_path / "s.parquet"
    assert cli("sweep", "--scene", str(scene_dir), *SMALL, "-o", str(out), "--landmarks", str(fix)) == 0
    assert "landmarks from" in capsys.readouterr().err
    _, meta = read_table(out)
    assert meta["entries"]["left-psis"] == [10.0, 20.0, 0.0]
    assert meta["landmarks_file"]["moved"] == ["left-psis"] and meta["landmarks_file"]["rebuilt"] is False
    assert cli("map", str(out), "-o", str(tmp_path / "m.png"), "--landmarks", str(fix)) == 0
    assert (tmp_path / "m.png").stat().st_size > 0
    capsys.readouterr()
    assert cli("map", str(out), "-o", str(tmp_path / "n.png"), "--landmarks", str(other)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "sweep again with --landmarks" in err and not (tmp_path / "n.png").exists()
    plain = tmp_path / "plain.parquet"
    assert cli("sweep", "--scene", str(scene_dir), *SMALL, "-o", str(plain)) == 0
    assert cli("map", str(plain), "-o", str(tmp_path / "p.png"), "--landmarks", str(fix)) == 2
    assert "swept without a landmarks file" in capsys.readouterr().err


def test_a_sweep_with_a_bad_landmarks_file_writes_nothing(cli, scene_dir, tmp_path, capsys):
    bad = markups.write_points(tmp_path / "bad.mrk.json", {"left-psis": [0.0, 200.0, 0.0]})  # in the air
    out = tmp_path / "s.parquet"
    assert cli("sweep", "--scene", str(scene_dir), *SMALL, "-o", str(out), "--landmarks", str(bad)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "far from the bone" in err
    assert not out.exists() and not (tmp_path / "s.parquet.parts").exists()
