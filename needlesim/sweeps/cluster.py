"""Running sweep chunks on an existing Dask distributed cluster (``--scheduler``).

Each chunk is one task; every worker process builds the engine once and keeps it (the
per-process cache of :mod:`needlesim.sweeps.runner`). An in-memory scene is scattered to
the workers once. Results come back as they finish and are stored like local chunks, so
a cluster run resumes and joins exactly like a local one.
"""

from __future__ import annotations

from typing import Callable, Sequence

import pandas as pd

from ..core.errors import NeedlesimError
from .grid import SweepJob

#: Seconds to wait for the scheduler before giving up with one clear error.
CONNECT_TIMEOUT_S = 15


class ClusterError(NeedlesimError):
    """The Dask scheduler cannot be reached, or dask.distributed is not installed."""


def run_on_dask(address: str, source, job: SweepJob, todo: Sequence[tuple[int, tuple[int, int, int]]],
                finished: Callable[[int, pd.DataFrame], None]) -> None:
    """Run chunks ``todo`` (``(index, chunk)`` pairs) on the scheduler at ``address``."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ClusterError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
    from .runner import run_chunk

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        src = client.scatter(source, broadcast=True) if source.scene is not None else source
        futures = {client.submit(run_chunk, src, job, chunk, key=f"needlesim-sweep-{job.key}-{i}"): i
                   for i, chunk in todo}
        try:
            for f in as_completed(futures):
                finished(futures[f], f.result())
        except BaseException:
            client.cancel(list(futures))
            raise
    finally:
        client.close()
