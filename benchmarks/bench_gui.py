"""GUI latency: from a slider move to the new frame, on the built-in scene, in the real
main window (run under a display, e.g. ``xvfb-run -a python benchmarks/bench_gui.py``).

A slider move runs synchronously to the rendered frame (evaluation, panels, actors,
``render()``), so the time from ``setValue`` to its return is the latency. A baseline in
the same run: the same moves with the evaluation skipped (panels and render only).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from needlesim.core.io.builtin import load_builtin_scene
    from needlesim.gui.main_window import MainWindow
    from needlesim.session import Session

    app = QApplication.instance() or QApplication([])
    settings = QSettings(str(Path("/tmp/needlesim-bench-settings.ini")), QSettings.Format.IniFormat)
    scene = load_builtin_scene()
    window = MainWindow(Session(scene), settings=settings, notify=lambda m: None)
    window.resize(1500, 920)
    window.show()
    app.processEvents()
    control = window.trajectory_panel.lateral
    times = []
    values = np.round(np.concatenate([np.linspace(20, 40, 60), np.linspace(40, 20, 60)]), 1)
    for v in values:
        t0 = time.perf_counter()
        control.slider.setValue(round(v * control.scale))
        app.processEvents()
        times.append(time.perf_counter() - t0)
    times = np.array(times[5:]) * 1e3
    frame = []
    for _ in range(60):
        t0 = time.perf_counter()
        window.plotter.render()
        frame.append(time.perf_counter() - t0)
    frame = np.array(frame) * 1e3
    n_tri = sum(len(s.faces) for s in scene)
    print(f"scene: built-in, {n_tri:,} triangles, {len(scene.critical)} critical structures")
    print(f"slider move -> new frame: median {np.median(times):.1f} ms, p90 {np.percentile(times, 90):.1f} ms, "
          f"max {times.max():.1f} ms (target < 50 ms: {'met' if np.median(times) < 50 else 'NOT met'})")
    print(f"baseline, render only: median {np.median(frame):.1f} ms -> evaluation and panels add "
          f"{np.median(times) - np.median(frame):.1f} ms")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
