"""The installed Qt binding does not leak references to ``None``.

PySide6 6.12.0 on Python 3.11 drops one reference to ``None`` on every void call
(``setText``, ``setData``, ``addItem``...): once ``None``'s count reaches zero the interpreter
aborts with "none_dealloc". The app makes thousands of such calls a minute while a slider is
dragged, so such a binding is excluded in pyproject.toml and this test catches a new one.
"""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label = QLabel()
before = sys.getrefcount(None)
for _ in range(2000):
    label.setText("x")
print(sys.getrefcount(None) - before)
"""


def test_void_qt_calls_keep_none_alive():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-500:]
    # Python >= 3.12 makes None immortal (its count is constant); a leaking binding on 3.11
    # loses ~2000 here. A few references either way come from the interpreter itself.
    assert abs(int(out.stdout.split()[-1])) < 100, "the Qt binding leaks references to None"
