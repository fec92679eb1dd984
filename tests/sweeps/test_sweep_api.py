"""``needlesim.sweeps.sweep``: the table, its files and metadata, workers, resumption."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from needlesim.sweeps import sweep
from needlesim.sweeps.table import read_table, to_long

GRID = dict(entries=("left-psis",), lateral_deg="-30:60:1", inferior_deg="-30:60:1", depths_mm="0:150:10")


class Interrupted(Exception):
    pass


def test_table_columns_and_exact_values(analytic_scene):
    df = sweep(analytic_scene, workers=1, **GRID)
    assert len(df) == 91 * 91
    for col in ("contact_mm[left S2 root]", "margin_contact_mm[left gluteal artery]", "max_safe_mm",
                "breach_mm", "first_structure", "first_critical", "verdict_60mm"):
        assert col in df.columns
    row = df[(df.lateral_deg == 0) & (df.inferior_deg == 0)].iloc[0]
    assert row.breach_mm == pytest.approx(70.0) and row.max_safe_mm == pytest.approx(70.0)
    assert row.breach_structure == "left ilium" and row.first_critical == ""
    assert row.verdict_60mm == "caution" and row.verdict_80mm == "danger"  # lateral 0 is outside nam2019
    infeasible = df[(df.lateral_deg == 60) & (df.inferior_deg == 30)].iloc[0]
    assert not infeasible.feasible and infeasible.verdict_0mm == "infeasible"
    meta = df.attrs["needlesim"]
    assert meta["scene_geometry_key"] == analytic_scene.geometry_key and meta["backend"] == "embree"
    long = to_long(df)
    assert len(long) == len(df) * 16 and set(long.verdict.unique()) <= {"safe", "caution", "danger", "infeasible"}


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_files_round_trip_with_metadata(analytic_scene, tmp_path, suffix):
    out = tmp_path / f"sweep{suffix}"
    df = sweep(analytic_scene, workers=1, output=out, lateral_deg="0:40:10", inferior_deg="0:30:10",
               depths_mm="0:100:50")
    back, meta = read_table(out)
    assert meta["scene_geometry_key"] == analytic_scene.geometry_key
    assert meta["envelope"]["name"] == "nam2019" and meta["margin_mm"] == 5.0 and meta["needle_diameter_mm"] == 3.26
    assert meta["needlesim_version"] and meta["backend"] == "embree"
    np.testing.assert_array_equal(back["max_safe_mm"].to_numpy(), df["max_safe_mm"].to_numpy())
    assert list(back["verdict_50mm"].astype(str)) == list(df["verdict_50mm"].astype(str))
    assert not list(tmp_path.glob("*.parts")) and not list(tmp_path.glob(".*tmp"))


def test_workers_do_not_change_the_table(analytic_scene):
    one = sweep(analytic_scene, workers=1, **GRID)
    two = sweep(analytic_scene, workers=2, **GRID)
    pd.testing.assert_frame_equal(one, two)


def test_resume_after_interruption_gives_the_same_table(analytic_scene, tmp_path):
    out = tmp_path / "sweep.parquet"
    whole = sweep(analytic_scene, workers=1, **GRID)

    def stop_after_two(index, done, total):
        if done == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        sweep(analytic_scene, workers=1, output=out, on_chunk=stop_after_two, **GRID)
    assert not out.exists()
    assert len(list((tmp_path / "sweep.parquet.parts").glob("chunk-*.parquet"))) == 2
    computed = []
    resumed = sweep(analytic_scene, workers=1, output=out, on_chunk=lambda i, d, t: computed.append(i), **GRID)
    assert len(computed) == 5 - 2  # 8281 directions in chunks of 2048
    pd.testing.assert_frame_equal(resumed, whole)
    pd.testing.assert_frame_equal(read_table(out)[0], whole)
    assert not (tmp_path / "sweep.parquet.parts").exists()


def test_a_different_job_does_not_reuse_parts(analytic_scene, tmp_path):
    out = tmp_path / "s.parquet"
    with pytest.raises(Interrupted):
        sweep(analytic_scene, workers=1, output=out, on_chunk=lambda i, d, t: (_ for _ in ()).throw(Interrupted()),
              **GRID)
    assert len(list((tmp_path / "s.parquet.parts").glob("chunk-*"))) == 1
    other = dict(GRID, lateral_deg="0:30:1", inferior_deg="0:30:1", depths_mm="0:150:5")
    df = sweep(analytic_scene, workers=1, output=out, **other)
    pd.testing.assert_frame_equal(df, sweep(analytic_scene, workers=1, **other))
