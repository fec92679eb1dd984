"""Start the desktop app: ``needlesim`` with no arguments, or ``needlesim app``.

Before Qt starts, :func:`display_problem` checks that it can: on Linux, that there is a
display, and that the system libraries Qt's xcb platform plugin links against are installed
(``ldd`` on the plugin; no Qt is loaded for that). Qt itself would abort the process (a core
dump) and blame the wrong library; instead the app prints one line naming what is missing
and how to install it, and exits with status 2.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

#: Debian/Ubuntu package of each library Qt 6's xcb plugin needs beyond a base system.
DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1", "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-image.so.0": "libxcb-image0", "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0", "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xfixes.so.0": "libxcb-xfixes0", "libxcb-xkb.so.1": "libxcb-xkb1", "libxcb-util.so.1": "libxcb-util1",
    "libxcb-shm.so.0": "libxcb-shm0", "libxcb-sync.so.1": "libxcb-sync1", "libxcb-render.so.0": "libxcb-render0",
    "libxcb.so.1": "libxcb1", "libX11-xcb.so.1": "libx11-xcb1", "libX11.so.6": "libx11-6",
    "libxkbcommon.so.0": "libxkbcommon0", "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libGL.so.1": "libgl1", "libEGL.so.1": "libegl1", "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6", "libdbus-1.so.3": "libdbus-1-3", "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
}
#: Seconds ``ldd`` may take before the check gives up (and lets Qt try).
LDD_TIMEOUT_S = 10
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


def xcb_plugin() -> Path | None:
    """PySide6's ``libqxcb.so``, found without importing Qt (None if there is none)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(list(spec.submodule_search_locations)[0]) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def run_ldd(library: Path) -> str:
    """``ldd``'s report on ``library`` ("" if ldd is missing or fails)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return ""
    try:
        return subprocess.run([ldd, str(library)], capture_output=True, text=True, timeout=LDD_TIMEOUT_S).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def missing_libraries(ldd_output: str) -> list[str]:
    """The libraries ``ldd`` reports as "not found", each once, in its order."""
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd_output)))


def _install_hint(missing: list[str]) -> str:
    packages = " ".join(dict.fromkeys(DEBIAN_PACKAGES.get(lib, "?" + lib) for lib in missing))
    known = " ".join(p for p in packages.split() if not p.startswith("?"))
    debian = f"on Debian/Ubuntu: sudo apt-get install {known}" if known else "on Debian/Ubuntu: apt-file search " + missing[0]
    return f"{debian}; elsewhere the packages that provide them (Fedora: dnf provides '*/{missing[0]}'; Arch: pacman -F {missing[0]})"


def display_problem(environ: Mapping[str, str] | None = None, *, platform: str | None = None,
                    plugin: Callable[[], Path | None] = xcb_plugin, ldd: Callable[[Path], str] = run_ldd) -> str | None:
    """Why the app cannot open a window here, as one line, or None if it can (as far as can
    be told without starting Qt). Only Linux with Qt's default xcb platform is checked."""
    env = os.environ if environ is None else environ
    if not (platform or sys.platform).startswith("linux"):
        return None
    qpa = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if qpa and qpa != "xcb":  # offscreen, wayland, vnc, ...: Qt's own choice, not ours to check
        return None
    if not env.get("DISPLAY"):
        if env.get("WAYLAND_DISPLAY") and not qpa:
            return None  # a Wayland session: Qt uses its wayland plugin
        return ("needlesim: no display to open the app on (DISPLAY is not set, no Wayland session): run it on a "
                "virtual display with `xvfb-run -a needlesim`, or use the command line, e.g. `needlesim check --help`")
    found = plugin()
    missing = missing_libraries(ldd(found)) if found is not None else []
    if not missing:
        return None
    own = [lib for lib in missing if lib.startswith(("libQt6", "libicu", "libpyside6", "libshiboken6"))]
    if own:
        return (f"needlesim: the app cannot start: PySide6 is incomplete (its own {', '.join(own)} cannot be "
                f"found): reinstall it with `pip install --force-reinstall PySide6-Essentials`")
    return (f"needlesim: the app cannot start: Qt's xcb platform needs {', '.join(missing)}, not installed on this "
            f"system; {_install_hint(missing)}. The command line works without them (`needlesim check --help`).")


def run(scene: Path | None = None, session_file: Path | None = None, *, screenshot: Path | None = None) -> int:
    """Open the main window on ``scene`` (default: the built-in scene). With
    ``screenshot``, render once, save the window to that PNG and quit (for docs and CI).
    Returns 2, after one line on stderr, where Qt cannot start (:func:`display_problem`)."""
    problem = display_problem()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from ..core.io.builtin import load_builtin_scene
    from ..core.errors import NeedlesimError
    from ..core.io.manifest import load_scene
    from ..session import Session
    from .main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("needlesim")
    app.setOrganizationName("needlesim")
    try:
        loaded = load_builtin_scene() if scene is None else load_scene(scene)
    except NeedlesimError as exc:
        print(f"needlesim: error: {exc}", file=sys.stderr)
        if screenshot is None:  # a scripted run (--screenshot) has nobody to click the box away
            QMessageBox.critical(None, "needlesim", f"Cannot open the scene:\n{exc}")
        return 2
    window = MainWindow(Session(loaded, scene_source="builtin" if scene is None else str(scene)))
    if session_file is not None:
        window.open_session(session_file)
    window.show()
    if screenshot is not None:
        def grab() -> None:
            window.plotter.render()
            app.processEvents()
            window.grab().save(str(screenshot))
            window.close()
        QTimer.singleShot(1500, grab)
    return app.exec()
