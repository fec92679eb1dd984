"""Population sweeps: seeds, the aggregation math on identical phantoms, real individuals
(N=2, built once for the module) cached and reused, and bad input refused up front."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from needlesim.anatomy import individuals
from needlesim.anatomy.params import AnatomyError
from needlesim.core.io.builtin import load_builtin_scene
from needlesim.sweeps import sweep
from needlesim.sweeps.population import PopulationError, phantom_seeds
from needlesim.sweeps.table import read_table

GRID = dict(entries=("left-psis", "right-psis"), lateral_deg="0:30:15", inferior_deg="10:30:20",
            depths_mm=[40.0, 80.0], workers=1)


@pytest.fixture(scope="module")
def template():
    return load_builtin_scene()


@pytest.fixture(scope="module")
def real_run(tmp_path_factory, template):
    """Two real individuals (about 13 s each), swept and written once."""
    out = tmp_path_factory.mktemp("population") / "pop.parquet"
    return out, sweep(template, phantoms=2, seed=5, output=out, **{**GRID, "workers": 2})  # built in a pool


def test_seeds_are_reproducible_and_prefix_stable():
    assert phantom_seeds(5, 3) == phantom_seeds(5, 3)
    assert phantom_seeds(5, 2) == phantom_seeds(5, 3)[:2]
    assert phantom_seeds(5, 3) != phantom_seeds(6, 3) and len(set(phantom_seeds(5, 20))) == 20


def test_identical_phantoms_give_the_single_sweep_and_failures_are_skipped(monkeypatch, template):
    bad = phantom_seeds(9, 3)[1]

    def fake(t, m, **kwargs):  # the template itself; one seed fails as a warp without a landmark would
        if m.seed == bad:
            raise AnatomyError("no left-psis on the warped pelvis")
        return t

    monkeypatch.setattr(individuals, "make_individual", fake)
    pop = sweep(template, phantoms=3, seed=9, **GRID)
    one = sweep(template, **GRID)
    meta = pop.attrs["needlesim"]
    assert (meta["n_built"], meta["n_skipped"]) == (2, 1)
    assert meta["built_seeds"] == [s for s in phantom_seeds(9, 3) if s != bad]
    assert "no left-psis" in meta["skipped"][str(bad)]
    for depth in GRID["depths_mm"]:
        rows = pop[pop.depth_mm == depth].reset_index(drop=True)
        verdict = one[f"verdict_{depth:g}mm"].astype(str)
        assert list(rows[["entry", "lateral_deg", "inferior_deg"]].itertuples(index=False)) == \
            list(one[["entry", "lateral_deg", "inferior_deg"]].itertuples(index=False))
        np.testing.assert_array_equal(rows.p_danger, (verdict == "danger").astype(float))
        np.testing.assert_array_equal(rows.p_caution, (verdict == "caution").astype(float))
        assert (rows.n_anatomies == 2).all()
    assert set(pop.p_danger) | set(pop.p_caution) <= {0.0, 1.0}
    assert pop.p_danger.sum() > 0 and pop.p_caution.sum() > 0  # the grid has both verdicts
    hit = pop[pop.p_danger == 1].iloc[0]  # Wilson, k = n = 2: [0.3424, 1]
    assert hit.p_danger_lo == pytest.approx(0.342380, abs=1e-6) and hit.p_danger_hi == 1.0


def test_real_individuals_table_metadata_and_cache(real_run, template, monkeypatch):
    out, pop = real_run
    n_dirs = 3 * 2
    assert len(pop) == 2 * n_dirs * 2
    assert list(pop.columns[:7]) == ["entry", "lateral_deg", "inferior_deg", "depth_mm", "n_anatomies",
                                     "n_danger", "n_caution"]
    meta = pop.attrs["needlesim"]
    assert meta["n_built"] + meta["n_skipped"] == 2 and meta["n_built"] >= 1
    assert meta["seeds"] == list(phantom_seeds(5, 2)) and meta["template_geometry_key"] == template.geometry_key
    for c in ("p_danger", "p_danger_lo", "p_danger_hi", "p_caution", "p_caution_lo", "p_caution_hi"):
        assert pop[c].between(0, 1).all(), c
    assert (pop.p_danger_lo <= pop.p_danger).all() and (pop.p_danger <= pop.p_danger_hi).all()
    assert (pop.n_anatomies == meta["n_built"]).all()
    on_disk, file_meta = read_table(out)
    pd.testing.assert_frame_equal(on_disk, pop, check_like=False)
    assert file_meta["seeds"] == meta["seeds"] and file_meta["n_skipped"] == meta["n_skipped"]

    def no_rebuild(*a, **k):
        raise AssertionError("rebuilt an individual that was cached")

    monkeypatch.setattr(individuals, "make_individual", no_rebuild)
    again = sweep(template, phantoms=2, seed=5, output=out, **GRID)
    pd.testing.assert_frame_equal(again, pop)


@pytest.mark.parametrize("n", ["0", "-1", "2.5", "two", "51"])
def test_bad_phantom_counts_write_nothing(cli, tmp_path, capsys, n):
    out = tmp_path / "p.parquet"
    assert cli("sweep", "--phantoms", n, "--lateral", "0", "--inferior", "10", "--depth", "40", "-o", str(out)) == 2
    assert "--phantoms" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_bad_api_input(template, scene_dir):
    for n in (0, 2.0, True, "x"):
        with pytest.raises(PopulationError):
            sweep(template, phantoms=n, **GRID)
    with pytest.raises(PopulationError, match="--yes"):
        sweep(template, phantoms=51, **GRID)
    with pytest.raises(PopulationError, match="seed"):
        sweep(template, phantoms=1, seed=-3, **GRID)
    with pytest.raises(PopulationError, match="lacks"):  # not a pelvis: nothing to warp
        sweep(scene_dir, phantoms=1, entries=("left-psis",), lateral_deg="0", inferior_deg="0", depths_mm="40")


# --- the builds: keys, pool and Dask --------------------------------------------------------

def test_build_key_changes_with_every_input_and_only_then():
    from dataclasses import replace

    from needlesim.anatomy.params import AnatomyParams
    from needlesim.sweeps.builds import build_key

    m = individuals.draw_morphometry(4)
    key = build_key("template-a", m)
    assert key == build_key("template-a", individuals.draw_morphometry(4), AnatomyParams())
    assert len(key) == 20 and int(key, 16) >= 0
    others = {build_key("template-b", m), build_key("template-a", individuals.draw_morphometry(5)),
              build_key("template-a", replace(m, soft_tissue_mm=m.soft_tissue_mm + 0.1)),
              build_key("template-a", m, AnatomyParams(sac_margin_mm=AnatomyParams().sac_margin_mm + 0.5))}
    assert key not in others and len(others) == 4


@pytest.mark.parametrize("where", ["pool", pytest.param("dask", marks=pytest.mark.slow)])
def test_failed_builds_report_their_reason_and_are_cached(scene_dir, tmp_path, where):
    """Not a pelvis: every build fails fast, in worker processes or on a Dask cluster; the
    reason comes back, is kept in the cache, and a rerun asks no worker at all."""
    from needlesim.sweeps.builds import BuildCache, build_many
    from needlesim.sweeps.runner import SceneSource

    morphs = [individuals.draw_morphometry(s) for s in (1, 2, 3)]
    cache = BuildCache(tmp_path / "cache", "analytic-template")
    source = SceneSource(path=str(scene_dir))
    if where == "dask":
        distributed = pytest.importorskip("distributed")
        with distributed.LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1", processes=True,
                                      dashboard_address=None) as cluster:
            out = build_many(source, morphs, cache, scheduler=cluster.scheduler_address, progress=False)
    else:
        out = build_many(source, morphs, cache, workers=2, progress=False)
    assert [o.seed for o in out] == [1, 2, 3]
    for o in out:
        assert o.result is None and o.reason.startswith("AnatomyError: the template scene lacks sacrum")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(f"{cache.name(m)}.skipped.json" for m in morphs)
    again = build_many(source, morphs, cache, scheduler="tcp://127.0.0.1:9", progress=False)  # no scheduler there
    assert again == out[:0] + [type(o)(o.seed, reason=o.reason) for o in out]


def _dies_on_seed_2(template, m, **kwargs):
    """A build that kills its process (as the OOM killer or a crash in native code would)
    for seed 2, and fails as an ordinary finding for the others."""
    import os

    if m.seed == 2:
        os._exit(9)
    raise AnatomyError(f"no left-psis on warped pelvis {m.seed}")


def test_a_build_that_kills_its_worker_is_reported_and_the_others_finish(monkeypatch, scene_dir, tmp_path):
    """A worker that dies abruptly breaks the whole process pool; the run goes on without
    it, names the individual whose build died, keeps every other outcome, and caches no
    verdict on the dead one (the next run tries it again)."""
    from needlesim.sweeps.builds import BuildCache, build_many
    from needlesim.sweeps.runner import SceneSource

    monkeypatch.setattr(individuals, "make_individual", _dies_on_seed_2)  # the pool forks after this
    morphs = [individuals.draw_morphometry(s) for s in (1, 2, 3, 4)]
    cache = BuildCache(tmp_path / "cache", "analytic-template")
    seen = []
    out = build_many(SceneSource(path=str(scene_dir)), morphs, cache, workers=2, progress=False,
                     on_outcome=seen.append)
    assert [o.seed for o in out] == [1, 2, 3, 4] and sorted(o.seed for o in seen) == [1, 2, 3, 4]
    assert out[1].result is None and "build process died" in out[1].reason
    for o in (out[0], out[2], out[3]):
        assert o.reason == f"AnatomyError: no left-psis on warped pelvis {o.seed}"
    assert cache.lookup(morphs[1]) is None  # not cached: tried again next time
    assert all(cache.lookup(m) == out[k].reason for k, m in enumerate(morphs) if k != 1)


def _exit_worker(scene):
    """``then`` that kills the process it runs in (a crash in native code would)."""
    import os

    os._exit(9)


@pytest.mark.slow
def test_a_build_that_kills_its_dask_worker_is_reported_and_the_others_finish(scene_dir, tmp_path, analytic_scene):
    """On a Dask cluster a worker that dies is restarted by its nanny and the task retried;
    once the scheduler gives up on it (KilledWorker), that individual is reported as died,
    not cached, and the others finish. Seed 2 is found built in the cache, so ``then`` runs
    on it and kills its worker; the others fail fast as ordinary findings."""
    distributed = pytest.importorskip("distributed")
    import dask

    from needlesim.sweeps.builds import BuildCache, build_many
    from needlesim.sweeps.runner import SceneSource
    from tests.conftest import write_manifest

    morphs = [individuals.draw_morphometry(s) for s in (1, 2, 3)]
    cache = BuildCache(tmp_path / "cache", "analytic-template")
    built = tmp_path / "cache" / cache.name(morphs[1])
    built.mkdir()
    write_manifest(analytic_scene, built)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            distributed.LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1", processes=True,
                                     dashboard_address=None) as cluster:
        out = build_many(SceneSource(path=str(scene_dir)), morphs, cache, scheduler=cluster.scheduler_address,
                         then=_exit_worker, progress=False)
    assert [o.seed for o in out] == [1, 2, 3]
    assert out[1].result is None and "build process died" in out[1].reason
    assert out[0].reason.startswith("AnatomyError") and out[2].reason.startswith("AnatomyError")
    assert cache.lookup(morphs[1]) == tmp_path / "cache" / cache.name(morphs[1])  # still the folder, no verdict
