"""The comparison in words, under the risk panel: the current aim against the saved
trajectory chosen for comparison (:func:`needlesim.teaching.compare.compare`)."""

from __future__ import annotations

from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout, QWidget

from ..session import Controller, Session
from ..teaching.compare import compare


class CompareBox(QGroupBox):
    def __init__(self, session: Session, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__("Compared with", parent)
        self.session, self.controller = session, controller
        self.text = QLabel()
        self.text.setWordWrap(True)
        QVBoxLayout(self).addWidget(self.text)
        session.report_changed.connect(lambda *_: self.refresh())
        session.saved_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        s = self.session
        reference = self.controller.compare_report() if s.report is not None else None
        self.setVisible(reference is not None)
        if reference is None:
            self.text.setText("")
            return
        c = compare(reference, s.report)
        self.setTitle(f"Compared with “{s.compare}” ({reference.verdict.value})")
        self.text.setText(f"<b>This aim is {c.text}</b><br>" + "<br>".join(c.details))
