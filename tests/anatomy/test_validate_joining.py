"""Roots that join a sciatic nerve meet just outside it: two tubes converging on one point of
the plexus overlap wherever their axes are closer than the sum of their radii, which begins
outside the nerve's surface. The validator lets roots crowd inside the nerve; it must also
let them meet within a root's diameter of it (where they join), and still refuse two roots
that cross anywhere else. Synthetic tubes, exact numbers."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from needlesim.anatomy.tubefit import Tube
from needlesim.anatomy.validate import validate_scene
from needlesim.core.model.scene import Level, Role, Scene, Side

R_NERVE, R_ROOT = 5.0, 2.0


def _tube(name, role, level, start, end, radius):
    line = np.linspace(start, end, 81)
    r = np.full(len(line), radius)
    return Tube(name, role, Side.LEFT, level, line, r, r)


def _scene(tubes):
    return Scene(tuple(t.structure() for t in tubes), landmarks={}, name="joining",
                 metadata={"anatomy": SimpleNamespace(tubes={t.name: t for t in tubes})})


def _joining_roots():
    """S2 and S3 roots of radius 2 ending on the axis of a nerve of radius 5 from directions
    28 deg apart: their axes are closer than 4 mm (they overlap) for the last 8.3 mm, the
    last 5 mm of which lie inside the nerve."""
    nerve = _tube("left sciatic nerve", Role.NERVE, None, (0.0, 0.0, -40.0), (0.0, 0.0, 40.0), R_NERVE)
    a = np.array([-1.0, 0.0, 0.25]) / np.linalg.norm([-1.0, 0.0, 0.25])
    b = np.array([-1.0, 0.0, -0.25]) / np.linalg.norm([-1.0, 0.0, -0.25])
    s2 = _tube("left S2 root", Role.NERVE_ROOT, Level("S2"), 40.0 * a, (0.0, 0.0, 0.0), R_ROOT)
    s3 = _tube("left S3 root", Role.NERVE_ROOT, Level("S3"), 40.0 * b, (0.0, 0.0, 0.0), R_ROOT)
    return nerve, s2, s3, a


def test_roots_meeting_where_they_join_the_nerve_pass():
    nerve, s2, s3, _ = _joining_roots()
    scene = _scene([nerve, s2, s3])
    # the overlap outside the nerve is real, and more than the facet tolerance
    sep = 2.0 * 5.5 * np.sin(np.arctan(0.25))  # axes 5.5 mm from the merge point: outside the nerve
    assert 2 * R_ROOT - sep > 1.0
    assert validate_scene(scene) == []


def test_roots_crossing_away_from_the_nerve_are_refused():
    nerve, s2, s3, a = _joining_roots()
    mid = 30.0 * a  # 25 mm from the nerve's surface
    s1 = _tube("left S1 root", Role.NERVE_ROOT, Level("S1"), mid + (0.0, -15.0, 0.0), mid + (0.0, 15.0, 0.0), R_ROOT)
    problems = validate_scene(_scene([nerve, s1, s2, s3]))
    assert {(p.structure, p.kind) for p in problems} == {("left S1 root", "overlap"), ("left S2 root", "overlap")}
    assert all("left S1 root" in p.detail or p.structure == "left S1 root" for p in problems)


def test_without_the_built_tubes_only_the_inside_of_the_nerve_is_a_crowd_zone():
    nerve, s2, s3, _ = _joining_roots()
    scene = Scene(tuple(t.structure() for t in (nerve, s2, s3)), landmarks={}, name="joining, no tubes")
    problems = validate_scene(scene)
    assert {(p.structure, p.kind) for p in problems} == {("left S2 root", "overlap"), ("left S3 root", "overlap")}
