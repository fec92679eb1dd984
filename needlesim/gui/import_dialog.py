"""File > Import pelvis: a dialog over ``needlesim import`` (:mod:`needlesim.cli_import`).

The dialog builds the command's arguments from its fields (shown as the equivalent command
line), parses them with the command's own parser and runs the same import on a worker thread,
its progress bar fed by the import's stage callback. Cancel stops the import at its next step
and nothing is written; a failure is shown in the dialog, whose fields stay as they were, and
the window keeps its scene; a success opens the imported scene.
"""

from __future__ import annotations

import shlex
import threading
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QToolButton,
                               QVBoxLayout, QWidget)

from ..anatomy.importers.pipeline import STAGES
from ..core.errors import NeedlesimError
from .worker import submit_with_progress

#: The kinds of source, as ``needlesim import KIND`` names them, with their labels.
KINDS = {"hra": "HuBMAP HRA pelvis (glTF .glb)", "meshes": "Labelled bone meshes (a folder)",
         "nifti": "CT label map (NIfTI .nii / .nii.gz)"}
#: The soft tissue offered when the data has no skin, mm (the mean over the PSIS, docs/anatomy.md).
DEFAULT_SOFT_TISSUE_MM = 30.0
_FILTERS = {"hra": "glTF (*.glb *.gltf)", "nifti": "NIfTI (*.nii *.nii.gz)"}


class PathField(QWidget):
    """A path typed or chosen with a browse button (``mode``: ``"file"``, ``"dir"``, ``"save"``)."""

    def __init__(self, mode: str, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode, self.filter = mode, ""
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        browse = QToolButton()
        browse.setText("…")
        browse.clicked.connect(self.browse)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit)
        row.addWidget(browse)

    def text(self) -> str:
        return self.edit.text().strip()

    def setText(self, text: str) -> None:  # noqa: N802 (Qt name)
        self.edit.setText(text)

    def browse(self) -> None:
        if self.mode == "dir":
            path = QFileDialog.getExistingDirectory(self, "Choose a folder", self.text())
        elif self.mode == "save":
            path, _ = QFileDialog.getSaveFileName(self, "The new scene folder", self.text())
        else:
            path, _ = QFileDialog.getOpenFileName(self, "Choose a file", self.text(), self.filter)
        if path:
            self.setText(path)


class ImportDialog(QDialog):
    """The import's fields, its progress and its outcome (module docstring)."""

    #: The :class:`~needlesim.anatomy.importers.pipeline.ImportResult` of a finished import.
    imported = Signal(object)
    #: The one-line message of a failed or cancelled import.
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import pelvis")
        self.setMinimumWidth(620)
        self.job = None
        self._cancel = threading.Event()
        self._close_when_done = False
        self.kind = QComboBox()
        for key, label in KINDS.items():
            self.kind.addItem(label, key)
        self.source = PathField("file")
        self.skin = PathField("file", "optional: the same body's skin .glb")
        self.units = QComboBox()
        self.units.addItems(["inferred from the size", "mm", "cm", "m"])
        self.frame = QComboBox()
        self.frame.addItems(["RAS", "LPS"])
        self.labels = QLineEdit()
        self.labels.setPlaceholderText("TotalSegmentator v2; or e.g. sacrum=25+26,hip_left=77,hip_right=78")
        self.model_soft = QCheckBox("Model the soft tissue as a layer over the bone (for data with no skin)")
        self.soft_mm = QDoubleSpinBox(decimals=1, minimum=1.0, maximum=150.0, value=DEFAULT_SOFT_TISSUE_MM,
                                      suffix=" mm")
        self.model_soft.toggled.connect(self.soft_mm.setEnabled)
        self.landmarks = PathField("file", "optional: corrected landmarks, 3D Slicer markups (.mrk.json)")
        self.landmarks.filter = "Slicer markups (*.mrk.json *.json)"
        self.name = QLineEdit()
        self.name.setPlaceholderText("default: from the source")
        self.tilt = QDoubleSpinBox(decimals=1, minimum=-45.0, maximum=45.0, value=0.0, suffix="°")
        self.dural = QLineEdit()
        self.dural.setPlaceholderText("S2-upper-mid")
        self.output = PathField("save", "a new folder (never overwritten)")
        self.command = QLabel()
        self.command.setWordWrap(True)
        self.command.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.command.setStyleSheet("color: #555; font-family: monospace;")
        self.stage = QLabel(" ")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self._layout()
        for w in (self.source.edit, self.skin.edit, self.labels, self.landmarks.edit, self.name, self.dural,
                  self.output.edit):
            w.textChanged.connect(self._update_command)
        for w in (self.units, self.frame):
            w.currentIndexChanged.connect(self._update_command)
        for w in (self.soft_mm, self.tilt):
            w.valueChanged.connect(self._update_command)
        self.model_soft.toggled.connect(self._update_command)
        self.source.edit.editingFinished.connect(self._suggest_output)
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        self._on_kind_changed()

    def _layout(self) -> None:
        form = QFormLayout()
        self.rows: dict[str, QWidget] = {}
        soft = QWidget()
        row = QHBoxLayout(soft)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.model_soft)
        row.addWidget(self.soft_mm)
        for key, label, widget in (("kind", "Source", self.kind), ("source", "Input", self.source),
                                   ("skin", "Skin", self.skin), ("units", "Units", self.units),
                                   ("frame", "Frame", self.frame), ("labels", "Label values", self.labels),
                                   ("soft", "Soft tissue", soft), ("landmarks", "Landmarks", self.landmarks),
                                   ("name", "Scene title", self.name), ("tilt", "Pelvic tilt", self.tilt),
                                   ("dural", "Dural sac ends at", self.dural), ("output", "Output folder", self.output)):
            form.addRow(label, widget)
            self.rows[key] = widget
        self.buttons = QDialogButtonBox()
        self.import_button = QPushButton("Import")
        self.import_button.setDefault(True)
        self.cancel_button = QPushButton("Close")
        self.buttons.addButton(self.import_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.import_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.reject)
        box = QVBoxLayout(self)
        box.addLayout(form)
        box.addWidget(QLabel("The same as the command:"))
        box.addWidget(self.command)
        box.addWidget(self.stage)
        box.addWidget(self.bar)
        box.addWidget(self.message)
        box.addWidget(self.buttons)

    # -- fields ------------------------------------------------------------------------------
    @property
    def kind_key(self) -> str:
        return str(self.kind.currentData())

    def _on_kind_changed(self) -> None:
        k = self.kind_key
        form = self.layout().itemAt(0).layout()
        for key, shown in (("skin", k == "hra"), ("units", k == "meshes"), ("frame", k == "meshes"),
                           ("labels", k == "nifti")):
            form.setRowVisible(self.rows[key], shown)
        self.source.mode = "dir" if k == "meshes" else "file"
        self.source.filter = _FILTERS.get(k, "")
        self.source.edit.setPlaceholderText({"hra": "the pelvis .glb (VH_F_Pelvis.glb, VH_M_Pelvis.glb, ...)",
                                             "meshes": "a folder: hip_left.stl, hip_right.stl, sacrum.stl, ... "
                                                       "or a pelvis.toml",
                                             "nifti": "the label map, or a folder of one mask per bone"}[k])
        self.model_soft.setChecked(k != "hra")
        self._update_command()

    def _suggest_output(self) -> None:
        if self.source.text() and not self.output.text():
            src = Path(self.source.text())
            stem = src.name.split(".")[0] or "pelvis"
            self.output.setText(str(src.parent / f"{stem}-scene"))

    def argv(self) -> list[str]:
        """The arguments of ``needlesim import`` these fields stand for."""
        k = self.kind_key
        args = ["import", k, self.source.text(), "-o", self.output.text()]
        if k == "hra" and self.skin.text():
            args += ["--skin", self.skin.text()]
        if k == "meshes":
            if self.units.currentIndex() > 0:
                args += ["--units", self.units.currentText()]
            if self.frame.currentText() != "RAS":
                args += ["--frame", self.frame.currentText()]
        if k == "nifti" and self.labels.text().strip():
            args += ["--labels", self.labels.text().strip()]
        if self.model_soft.isChecked():
            args += ["--soft-tissue-mm", f"{self.soft_mm.value():g}"]
        if self.landmarks.text():
            args += ["--landmarks", self.landmarks.text()]
        if self.name.text().strip():
            args += ["--name", self.name.text().strip()]
        if self.tilt.value() != 0.0:
            args += ["--tilt-deg", f"{self.tilt.value():g}"]
        if self.dural.text().strip():
            args += ["--dural-level", self.dural.text().strip()]
        return args

    def _update_command(self) -> None:
        self.command.setText("needlesim " + shlex.join(self.argv()))

    # -- running -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.job is not None

    def start(self) -> bool:
        """Check the fields and start the import on a worker thread; False if refused."""
        from ..cli_import import parse_import, run_import

        if self.running:
            return False
        missing = [what for what, text in (("the input", self.source.text()), ("the output folder", self.output.text()))
                   if not text]
        try:
            if missing:
                raise NeedlesimError(f"choose {' and '.join(missing)}")
            args = parse_import(self.argv())
        except NeedlesimError as exc:
            self._show_message(str(exc), error=True)
            return False
        self._cancel.clear()
        self._set_running(True)
        self._show_message("")
        self.job = submit_with_progress(
            lambda report: run_import(args, progress=lambda stage, f: report(f, stage), cancel=self._cancel.is_set),
            self._on_done, self._on_failed, self._on_progress)
        return True

    def cancel(self) -> None:
        """Stop the running import at its next step; nothing is written."""
        if self.running:
            self._cancel.set()
            self.cancel_button.setEnabled(False)
            self.stage.setText("Cancelling…")

    def reject(self) -> None:
        """Cancel (or Escape, or the close box): cancels a running import, then closes."""
        if self.running:
            self._close_when_done = True
            self.cancel()
            return
        super().reject()

    def _set_running(self, running: bool) -> None:
        for key in self.rows:
            self.rows[key].setEnabled(not running)
        self.import_button.setEnabled(not running)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel" if running else "Close")
        if not running:
            self.bar.setValue(0)
            self.stage.setText(" ")

    def _on_progress(self, fraction: float, stage: str) -> None:
        if self._cancel.is_set():
            return
        self.bar.setValue(int(round(1000 * fraction)))
        k = STAGES.index(stage) + 1 if stage in STAGES else len(STAGES)
        self.stage.setText(f"{k}/{len(STAGES)} {stage}…" if stage != "done" else "done")

    def _finish(self) -> None:
        self.job = None
        self._set_running(False)
        if self._close_when_done:
            self._close_when_done = False
            super().reject()

    def _on_done(self, result) -> None:
        self._close_when_done = False  # a cancel that came after the last step: the scene is written, open it
        self._finish()
        self._show_message(f"Imported into {result.folder} ({result.seconds:.0f} s).")
        self.imported.emit(result)
        self.accept()

    def _on_failed(self, message: str) -> None:
        self._finish()
        self._show_message(message, error=True)
        self.failed.emit(message)

    def _show_message(self, text: str, *, error: bool = False) -> None:
        self.message.setStyleSheet("color: #b00020;" if error else "")
        self.message.setText(text)


def open_import_dialog(window) -> ImportDialog:
    """File > Import pelvis on ``window`` (a :class:`MainWindow`): the dialog, window-modal;
    an imported scene is opened as any scene folder is (and added to the recent files)."""
    dialog = ImportDialog(window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.imported.connect(lambda result: window.open_scene_async(result.folder))
    window.import_dialog = dialog
    dialog.open()
    return dialog
