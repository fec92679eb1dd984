"""``needlesim app`` from the shell: a scene that cannot be opened gives one line and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys


def test_a_bad_scene_with_screenshot_exits_2_instead_of_waiting_on_a_box(tmp_path):
    """Seen as a newcomer: ``xvfb-run -a needlesim app --scene junk.ply --screenshot x.png``
    never returned (a modal box waited for a click nobody can give in a scripted run)."""
    junk = tmp_path / "junk.ply"
    junk.write_bytes(bytes(range(256)) * 4)
    shot = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", "import sys; from needlesim.cli import main; sys.exit(main())", "app", "--scene", str(junk), "--screenshot", str(shot)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith(f"needlesim: error: {junk}")
    assert not shot.exists()
