"""A slider move changes what it must and nothing more: the needle's arrays are written in
place, the clearance table's items only where a row changed, highlights only where they
change; and what is shown is still what the report says."""

from __future__ import annotations

import numpy as np
import pytest
from vtkmodules.util.numpy_support import vtk_to_numpy

from needlesim.viz.needle_mesh import needle_arrays


def test_the_needle_is_written_in_place_and_is_the_new_needle(make_window):
    w = make_window()
    s, mesh = w.session, w.view._needle["current"]
    s.update(lateral_deg=0.0, inferior_deg=0.0, depth_mm=60.0)
    points, cells = mesh.GetPoints(), mesh.GetPolys()
    stretches = len(s.report.evaluation.path)
    s.update(lateral_deg=2.0)  # the same tissues along the needle: the same triangles
    assert len(s.report.evaluation.path) == stretches
    assert mesh.GetPoints() is points and mesh.GetPolys() is cells  # no new arrays
    want_points, want_tris, want_rgb = needle_arrays(s.report)
    assert np.array_equal(mesh.points, want_points)
    assert np.array_equal(vtk_to_numpy(cells.GetConnectivityArray()), want_tris.ravel())
    assert np.array_equal(mesh.cell_data["RGB"], want_rgb)
    tip = np.array(s.report.evaluation.tip)
    assert np.linalg.norm(mesh.points - tip, axis=1).min() == pytest.approx(0.0, abs=1e-9)  # the cap at the new tip
    assert np.array_equal(w.view._needle["tip"].points, tip[None])
    s.update(depth_mm=110.0)  # deeper, through the slab into the soft tissue beyond: more stretches
    assert len(s.report.evaluation.path) != stretches
    want_points, want_tris, want_rgb = needle_arrays(s.report)
    assert mesh.n_points == len(want_points) and mesh.n_cells == len(want_tris)
    assert np.array_equal(mesh.points, want_points) and np.array_equal(mesh.cell_data["RGB"], want_rgb)
    hits = [h.point for h in s.report.evaluation.hits if 0 <= h.depth_mm <= 110.0]
    assert np.array_equal(w.view._needle["hits"].points, np.array(hits))


def test_the_clearance_table_writes_only_changed_cells_and_shows_the_report(make_window, monkeypatch):
    from PySide6.QtWidgets import QTableWidgetItem

    w = make_window()
    s, table = w.session, w.risk_panel.clearances

    def cells():
        return [(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())]

    def wanted():
        contacts = sorted(s.report.evaluation.contacts, key=lambda c: c.clearance_mm)
        return [(c.structure, "contact" if c.touches else f"{'' if c.clearance_exact else '~'}{c.clearance_mm:.1f}")
                for c in contacts]

    s.update(lateral_deg=0.0, inferior_deg=0.0, depth_mm=60.0)
    writes = []
    real = QTableWidgetItem.setText
    monkeypatch.setattr(QTableWidgetItem, "setText", lambda item, text: writes.append(text) or real(item, text))
    for change in ({"depth_mm": 60.5}, {"lateral_deg": 1.0}, {"entry": (-33.5, 20.0, 0.0),
                                                                              "side": "left", "depth_mm": 110.0}):
        before = cells()
        del writes[:]
        s.update(**change)
        after = cells()
        assert after == wanted()
        changed = [new for old_row, new_row in zip(before, after) for old, new in zip(old_row, new_row) if old != new]
        assert sorted(writes) == sorted(changed)  # exactly the cells whose text changed


def test_a_highlighted_structure_stays_opaque_until_the_needle_moves_away(make_window):
    import pyvista as pv

    from needlesim.viz.colors import HIGHLIGHT_COLOR

    w = make_window()
    s = w.session
    s.update(entry=(-33.5, 20.0, 0.0), side="left", lateral_deg=0.0, inferior_deg=0.0, depth_mm=110.0)
    prop = w.view.actors["left S2 root"].GetProperty()
    assert w.view.highlighted == {"left S2 root"} and prop.GetOpacity() == 1.0
    w.view.set_opacity("left S2 root", 0.3)  # the user's choice, kept for later
    s.update(depth_mm=109.0)
    assert prop.GetOpacity() == 1.0 and prop.GetColor() == pytest.approx(pv.Color(HIGHLIGHT_COLOR).float_rgb)
    s.update(entry="left-psis", depth_mm=60.0)  # far from the root
    assert "left S2 root" not in w.view.highlighted
    assert prop.GetOpacity() == pytest.approx(0.3)
    assert prop.GetColor() == pytest.approx(pv.Color(w.view.base_color["left S2 root"]).float_rgb)


def _pipeline(actor) -> list[str]:
    """Class names of the algorithms feeding ``actor``'s mapper, nearest first."""
    out, alg = [], actor.GetMapper().GetInputAlgorithm()
    while alg is not None:
        out.append(alg.GetClassName())
        alg = alg.GetInputAlgorithm() if alg.GetNumberOfInputPorts() and alg.GetNumberOfInputConnections(0) else None
    return out


def test_the_needle_is_drawn_through_vtk_only_with_the_normals_and_colours_of_the_mesh(make_window):
    """pyvista's smooth shading and active-scalar stages are Python algorithms that ran
    on every move (about 5 ms of the draw): the needle goes through VTK's normals filter
    alone, with the same normals and colours."""
    import pyvista as pv
    from vtkmodules.vtkRenderingCore import vtkPolyDataMapper

    direct = vtkPolyDataMapper()
    direct.SetColorModeToDirectScalars()

    w = make_window()
    s = w.session
    s.update(lateral_deg=0.0, inferior_deg=0.0, depth_mm=60.0)
    for actor in w.view._needle_actors:
        assert "vtkPythonAlgorithm" not in _pipeline(actor)
    actor, mesh = w.view._needle_actors[0], w.view._needle["current"]
    for change in ({"lateral_deg": 3.0}, {"depth_mm": 110.0}):  # in place, then new triangles
        s.update(**change)
        mapper = actor.GetMapper()
        mapper.Update()
        drawn = pv.wrap(mapper.GetInput())
        want = pv.PolyData(mesh.points, mesh.faces).compute_normals(cell_normals=False)  # what pyvista computed
        assert drawn.n_points == mesh.n_points and drawn.n_cells == mesh.n_cells
        assert np.allclose(drawn.point_data["Normals"], want.point_data["Normals"], atol=1e-6)
        assert np.array_equal(drawn.cell_data.active_scalars, mesh.cell_data["RGB"])
        assert mapper.GetScalarVisibility() and mapper.GetColorMode() == direct.GetColorMode()


def test_the_needle_looks_as_pyvista_draws_it(qtbot):
    """Off screen: the needle through VTK alone gives the pixels of pyvista's own pipeline."""
    import pyvista as pv

    from needlesim.viz.needle_mesh import add_needle_actor, fill_mesh, tube_arrays

    points, tris, rgb = tube_arrays(np.zeros(3), np.array([0.0, 1.0, 0.0]), 4.0,
                                    np.array([[0.0, 20.0], [20.0, 30.0], [30.0, 60.0]]),
                                    np.array([[200, 40, 40], [240, 240, 240], [40, 40, 200]], np.uint8))
    images = []
    for ours in (False, True):
        pl = pv.Plotter(off_screen=True, window_size=(240, 240))
        m = pv.PolyData()
        fill_mesh(m, points, tris, rgb)
        if ours:
            add_needle_actor(pl, m, name="needle")
        else:
            pl.add_mesh(m, scalars="RGB", rgb=True, smooth_shading=True, name="needle")
        pl.camera_position = [(60.0, 30.0, 40.0), (0.0, 30.0, 0.0), (0.0, 0.0, 1.0)]
        images.append(pl.screenshot(return_img=True))
        pl.close()
    assert (images[0] != images[0][0, 0]).any(axis=-1).sum() > 2000  # the needle is in the picture
    assert np.array_equal(images[0], images[1])


def test_a_new_text_repaints_its_label_alone_over_what_its_parents_draw(make_window, qtbot):
    """A changing label paints what its parent draws under it and then its text (opaque):
    a new envelope text repaints neither its group box nor the panel behind it, and what
    it paints under the text is what the window shows there without it."""
    from PySide6.QtCore import QEvent, QObject, QPoint, QRect
    from PySide6.QtGui import QImage, QRegion
    from PySide6.QtWidgets import QApplication

    w = make_window()
    s, panel = w.session, w.risk_panel
    s.update(lateral_deg=0.0, inferior_deg=0.0, depth_mm=60.0)
    qtbot.wait(50)

    class Paints(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[object] = []

        def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
            if event.type() == QEvent.Type.Paint:
                self.seen.append(obj)
            return False

    paints = Paints()
    QApplication.instance().installEventFilter(paints)
    try:
        before = panel.envelope.text()
        s.update(lateral_deg=1.0)  # the envelope's lateral rule reads a new angle
        assert panel.envelope.text() != before
        qtbot.wait(50)
    finally:
        QApplication.instance().removeEventFilter(paints)
    assert panel.envelope in paints.seen
    group = panel.envelope.parentWidget()
    assert group not in paints.seen and panel not in paints.seen  # nor the panel for the path strip
    assert panel.strip in paints.seen and panel.strip.parentWidget() not in paints.seen
    for label in (panel.envelope, panel.path, panel.reasons, w.status):
        # what the window shows there while the label is empty (every ancestor painted) is
        # the backdrop the label paints under its text
        text, geometry = label.text(), label.geometry()
        label.setText("")  # (its new height is laid out later: the place is the same now)
        behind = QImage(label.size(), QImage.Format.Format_ARGB32_Premultiplied)
        w.render(behind, QPoint(0, 0), QRegion(QRect(label.mapTo(w, QPoint(0, 0)), label.size())))
        label.setText(text)
        assert label.geometry() == geometry
        shown = w.grab(QRect(0, 0, 1, 1)).toImage().format()  # the display's colour depth
        assert label._render_backdrop().convertToFormat(shown) == behind.convertToFormat(shown), text
