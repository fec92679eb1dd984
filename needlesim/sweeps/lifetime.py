"""Pool workers that exit with the process that started them.

A worker of a :class:`~concurrent.futures.ProcessPoolExecutor` blocks on its task queue;
when the main process is killed (``kill -9``, the OOM killer) nothing tells it, and it
stays alive holding its memory. Each worker therefore, in its initializer:

1. on Linux, asks the kernel for ``SIGKILL`` when its parent dies
   (``prctl(PR_SET_PDEATHSIG)`` through ctypes: immediate, and nothing to run);
2. everywhere, starts a daemon thread that checks every :data:`WATCH_INTERVAL_S` that
   it has not been re-parented and that the main process still exists, and exits if not
   (the portable fallback, and a second line on Linux).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

#: ``PR_SET_PDEATHSIG`` from ``<linux/prctl.h>``.
PR_SET_PDEATHSIG = 1
#: How often the watchdog looks at its parent, s: a killed sweep's workers are gone within it.
WATCH_INTERVAL_S = 0.5


def exit_with_parent(main_pid: int) -> None:
    """Make this (worker) process exit when ``main_pid``, the process that started the
    pool, dies. Call it first in the pool's initializer."""
    parent = os.getppid()
    _parent_death_signal()
    if not _parent_alive(parent, main_pid):  # died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch, args=(parent, main_pid), name="needlesim-parent-watchdog", daemon=True).start()


def _parent_death_signal() -> bool:
    """Arm ``SIGKILL`` on the parent's death (Linux only); whether it was armed."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _parent_alive(parent: int, main_pid: int) -> bool:
    if os.getppid() != parent:  # re-parented: the parent is gone
        return False
    try:
        os.kill(main_pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else (cannot happen for our parent)
        return True
    return True


def _watch(parent: int, main_pid: int) -> None:
    while _parent_alive(parent, main_pid):
        time.sleep(WATCH_INTERVAL_S)
    os._exit(1)
