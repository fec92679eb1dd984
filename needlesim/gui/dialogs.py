"""Dialogs: assigning roles to loose mesh files, and the About text."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout, QWidget)

from ..core.errors import ManifestError
from ..core.io.meshio import read_mesh, to_ras_mm, validate_mesh
from ..core.model.scene import Role, Scene, Side, Structure

ABOUT_HTML = """
<h3>needlesim {version}</h3>
<p>Aim a bone-marrow harvest needle at the posterior superior iliac spine and see the risk to
the sacral roots, dura, nerves and vessels. A teaching and research tool, not a medical device.</p>
<p><b>Safe envelope</b>: Nam YS et al., Sacral nerve root injury following bone marrow harvesting,
BMC Cancer 2019;19:347.</p>
<p><b>Anatomy</b>: the built-in pelvis and skin are derived from the HuBMAP CCF 3D Reference Object
Library (NLM Visible Human Female): Kristen Browne; Heidi Schlehlein. 2022. 3D Reference Organ for
Pelvis, Female v1.2, doi:10.48539/HBM427.CCRP.887; Kristen Browne. 2021. 3D Reference Organ for
Skin, Female v1.1, doi:10.48539/HBM555.MQLF.923. Licence: CC BY 4.0 (converted to RAS mm, skin
cropped; see meshes/LICENSE-meshes.md). The roots, dura, nerves and vessels are built by needlesim
onto that bone.</p>
<p>needlesim's code: BSD 3-Clause licence.</p>
"""


class MeshRolesDialog(QDialog):
    """One row per mesh file: its role, side and units, then a scene from them."""

    def __init__(self, paths: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Assign roles to the meshes")
        self.paths = [Path(p) for p in paths]
        form = QFormLayout()
        self.rows = []
        for p in self.paths:
            role, side, units = QComboBox(), QComboBox(), QComboBox()
            role.addItems([r.value for r in Role])
            role.setCurrentText(_guess_role(p.stem))
            side.addItems([s.value for s in Side])
            side.setCurrentText("left" if "left" in p.stem.lower() else "right" if "right" in p.stem.lower() else "midline")
            units.addItems(["mm", "m"])
            row = QWidget()
            lay = QFormLayout(row)
            lay.addRow("role", role)
            lay.addRow("side", side)
            lay.addRow("units", units)
            form.addRow(QLabel(p.name), row)
            self.rows.append((p, role, side, units))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def build_scene(self) -> Scene:
        structures = []
        for p, role, side, units in self.rows:
            mesh = validate_mesh(to_ras_mm(read_mesh(p), units=units.currentText()), p, what=p.name)
            structures.append(Structure.from_trimesh(p.stem.replace("_", " "), Role(role.currentText()), mesh,
                                                     side=Side(side.currentText()), source=str(p)))
        if not structures:
            raise ManifestError("no meshes chosen")
        return Scene(tuple(structures), name="meshes")


def _guess_role(stem: str) -> str:
    s = stem.lower()
    for key, role in (("skin", "skin"), ("sacrum", "sacrum"), ("root", "nerve_root"), ("dura", "dura"),
                      ("sleeve", "dura"), ("sciatic", "nerve"), ("nerve", "nerve"), ("artery", "vessel"),
                      ("vein", "vessel"), ("ilium", "cortical_bone"), ("bone", "cortical_bone")):
        if key in s:
            return role
    return "other"
