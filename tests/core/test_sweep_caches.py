"""The sweep's per-engine tables (mitre and fold masks of the offset surfaces, the inside
probe's reach) belong to their engine: a population or Monte Carlo run builds one engine per
individual in the same worker process, and a table keyed by an engine's address (``id``)
would be served, stale, to a later engine that happens to reuse that address."""

from __future__ import annotations

import numpy as np

from needlesim.core.batch import sweep_lines
from needlesim.core.model.scene import Role
from needlesim.core.needle.engine import Engine


def test_a_later_engine_at_the_same_address_gets_its_own_tables(monkeypatch, analytic_scene):
    # every object at one address: what CPython does when a freed engine's memory is reused
    monkeypatch.setattr(sweep_lines, "id", lambda obj: 0, raising=False)
    first = Engine(analytic_scene, needle_diameter_mm=3.26)
    fewer = analytic_scene.with_structures([s for s in analytic_scene if s.role is not Role.VESSEL])
    fewer = fewer.with_structures(s.with_mesh(2.0 * s.vertices) for s in fewer)  # twice the size
    later = Engine(fewer, needle_diameter_mm=3.26)
    for distance in (first.radius, first.radius + first.margin):
        assert len(sweep_lines._mitre_faces(first, distance)) == len(first.critical_soup)
        assert len(sweep_lines._mitre_faces(later, distance)) == len(later.critical_soup) < len(first.critical_soup)
        assert len(sweep_lines._folded_faces(later, distance)) == len(later.critical_soup)
    reach = lambda e: float(np.linalg.norm(np.ptp(e.soup.triangles.reshape(-1, 3), axis=0))) * 2 + 1.0  # noqa: E731
    assert sweep_lines._probe_reach(first) == reach(first)
    assert sweep_lines._probe_reach(later) == reach(later) > 1.9 * reach(first)
