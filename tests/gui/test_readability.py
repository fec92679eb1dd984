"""Issue 11 item 6: the legend beside the view (not over the anatomy), `~` explained, a
margin highlight no structure shares, and view 5 a true needle's-eye view."""

from __future__ import annotations

import numpy as np
import pytest


def _lab(color: str) -> np.ndarray:
    """CIE L*a*b* (D65) of a hex colour."""
    h = color.lstrip("#")
    rgb = np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)]) / 255
    rgb = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ rgb / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_the_margin_highlight_is_a_colour_nothing_else_uses():
    from needlesim.viz import colors as c

    others = {**{f"role {r.value}": v for r, v in c.ROLE_COLORS.items()}, "vein": c.VEIN_COLOR,
              **{f"tissue {t.value}": v for t, v in c.TISSUE_COLORS.items()},
              **{f"marker {k}": v for k, v in c.MARKER_COLORS.items()},
              **{f"verdict {k}": v for k, v in c.VERDICT_COLORS.items()},
              "compare": c.COMPARE_COLOR, "landmark": c.LANDMARK_COLOR}
    distance = {k: float(np.linalg.norm(_lab(c.HIGHLIGHT_COLOR) - _lab(v))) for k, v in others.items()}
    closest = min(distance, key=distance.get)
    assert distance[closest] >= 40.0, f"highlight too close to {closest} (delta E {distance[closest]:.1f})"


def test_structures_in_the_margin_are_drawn_and_listed_in_the_highlight_colour(make_window):
    import pyvista as pv
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor

    from needlesim.viz.colors import HIGHLIGHT_COLOR

    w = make_window()
    w.session.update(entry=(-33.5, 20.0, 0.0), side="left", lateral_deg=0.0, inferior_deg=0.0, depth_mm=110.0)
    prop = w.view.actors["left S2 root"].GetProperty()
    assert prop.GetColor() == pytest.approx(pv.Color(HIGHLIGHT_COLOR).float_rgb)
    table = w.risk_panel.clearances
    rows = {table.item(r, 0).text(): table.item(r, 0) for r in range(table.rowCount())}
    assert rows["left S2 root"].data(Qt.ItemDataRole.DecorationRole) == QColor(HIGHLIGHT_COLOR)
    assert rows["left gluteal artery"].data(Qt.ItemDataRole.DecorationRole) is None


def test_the_legend_is_a_dock_beside_the_view_and_can_be_closed(make_window):
    w = make_window()
    assert w.plotter.legend is None  # nothing drawn over the anatomy
    labels = [label for label, _ in w.legend.entries]
    assert "bone" in labels and "sacral root" in labels and "within the margin" in labels
    assert w.legend.isVisible() and not w.legend.isFloating()
    action = next(a for a in w.menuBar().actions() if a.text() == "&View").menu().actions()
    legend = next(a for a in action if a.text() == "Le&gend")
    legend.trigger()
    assert not w.legend.isVisible()
    legend.trigger()
    assert w.legend.isVisible()


def test_the_tilde_is_explained_next_to_the_table(make_window):
    w = make_window()
    note = w.risk_panel.approx_note
    assert note.isVisible() and note.text() == "~ = at most (far from the needle, not computed exactly)"


def test_view_5_looks_down_the_needle_with_a_crosshair_and_what_lies_ahead(make_window):
    """Lateral 0, inferior 0 from (0, 20, 0): the needle runs along +y from the skin at
    y = -30; the slab's back is 50 mm deep, its front 70 mm; the tip at 75 mm."""
    w = make_window()
    s = w.session
    s.update(lateral_deg=0.0, inferior_deg=0.0, depth_mm=75.0)
    w.set_view("needle")
    cam = w.plotter.camera
    assert cam.position == pytest.approx(s.report.evaluation.skin_puncture)
    dop = np.array(cam.GetDirectionOfProjection())
    assert dop == pytest.approx(np.array(s.trajectory.direction), abs=1e-9)
    eye = w.view.eye
    assert eye.crosshair.GetVisibility() and eye.text.GetVisibility()
    text = eye.text.GetInput()
    assert "50.0 mm  enters left ilium" in text and "70.0 mm  leaves left ilium" in text
    assert text.index("70.0 mm") < text.index("75.0 mm  TIP")
    # the crosshair marks the axis: a point ahead on the needle projects to the centre
    ren = w.plotter.renderer
    ren.SetWorldPoint(0.0, 60.0, 0.0, 1.0)
    ren.WorldToDisplay()
    x, y, _ = ren.GetDisplayPoint()
    width, height = ren.GetSize()
    assert (x, y) == pytest.approx((width / 2, height / 2), abs=1.0)
    assert not w.view._needle_actors[0].GetVisibility()  # the camera is inside the needle
    s.update(lateral_deg=5.0)  # the view follows the needle
    dop = np.array(w.plotter.camera.GetDirectionOfProjection())
    assert dop == pytest.approx(np.array(s.trajectory.direction), abs=1e-9)
    w.set_view("posterior")
    assert not eye.crosshair.GetVisibility() and w.view._needle_actors[0].GetVisibility()


def _boxes(spots, sizes):
    return [(s[0], s[1], s[0] + w, s[1] + h) for s, (w, h) in zip(spots, sizes) if s is not None]


def _disjoint(boxes) -> bool:
    return all(a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
               for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_label_placement_never_overlaps_and_keeps_the_important_names():
    from needlesim.viz.labels import place_labels, priority

    names = ["left-psis", "left-entry", "left-s1-foramen", "left-s2-foramen", "left-notch", "canal"]
    anchors = np.array([[100, 100], [104, 102], [98, 96], [102, 99], [101, 101], [300, 300]], float)
    sizes = np.array([[80, 16]] * len(names), float)
    spots = place_labels(anchors, sizes, priority(names), (400, 400))
    assert spots[0] is not None and spots[1] is not None  # PSIS and entry first
    assert spots[5] is not None  # a lone name is always placed
    boxes = _boxes(spots, sizes)
    assert _disjoint(boxes)
    assert all(0 <= b[0] and b[2] <= 400 and 0 <= b[1] and b[3] <= 400 for b in boxes)
    for x0, y0, x1, y1 in boxes:  # no name covers a landmark point
        assert not np.any((anchors[:, 0] > x0) & (anchors[:, 0] < x1) & (anchors[:, 1] > y0) & (anchors[:, 1] < y1))


def test_landmark_names_in_the_window_do_not_overlap(make_window, analytic_scene):
    from needlesim.core.model.scene import Scene

    lm = {f"left-mark-{i}": [float(i * 3), 20.0, float(i * 2)] for i in range(8)}
    lm.update({"left-psis": [0.0, 20.0, 0.0], "right-psis": [0.0, 20.0, 0.0]})
    w = make_window(Scene(tuple(analytic_scene), landmarks=lm, name="crowded"))
    w.labels_action.trigger()
    w.set_view("posterior")
    w.plotter.render()
    labels = w.view.labels
    shown = [a for a in labels.actors if a.GetVisibility()]
    assert labels.actors[labels.names.index("left-psis")].GetVisibility()
    boxes = []
    for a in shown:
        x, y = a.GetPositionCoordinate().GetValue()[:2]
        bbox = [0.0] * 4
        a.GetBoundingBox(w.plotter.renderer, bbox)
        boxes.append((x, y, x + bbox[1] - bbox[0], y + bbox[3] - bbox[2]))  # the box is relative to the position
    assert len(shown) >= 2 and _disjoint(boxes)
