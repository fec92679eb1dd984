"""The progress view: the practice log's scores over time by level (matplotlib in the app,
drawn by :func:`needlesim.teaching.progress.progress_figure`), a per-level summary and CSV export."""

from __future__ import annotations

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtWidgets import QDialog, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from ..teaching.practice_log import PracticeLog
from ..teaching.progress import progress_figure, summary


class ProgressDialog(QDialog):
    def __init__(self, log: PracticeLog, parent=None) -> None:
        super().__init__(parent)
        self.log = log
        self.setWindowTitle("Practice progress")
        self.figure = Figure(figsize=(6.4, 3.6), dpi=100)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.where = QLabel(f"log: {log.path}" + (" (in memory this session)" if log.in_memory else ""))
        self.where.setWordWrap(True)
        export = QPushButton("Export CSV…")
        refresh = QPushButton("Refresh")
        close = QPushButton("Close")
        buttons = QHBoxLayout()
        for b in (refresh, export, close):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.where)
        layout.addLayout(buttons)
        refresh.clicked.connect(self.refresh)
        export.clicked.connect(self.export_dialog)
        close.clicked.connect(self.close)
        self.resize(720, 560)
        self.refresh()

    def refresh(self) -> None:
        attempts = self.log.attempts()
        progress_figure(attempts, figure=self.figure)
        self.canvas.draw_idle()
        lines = [s.words() for s in summary(attempts)]
        self.summary.setText("<br>".join(lines) if lines else "No attempts logged yet.")

    def export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export practice log", "practice.csv", "CSV (*.csv)")
        if path:
            self.log.export_csv(path)
