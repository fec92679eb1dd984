"""Batch sweeps over angle space, risk maps and breach probability (pandas layer).

The casting itself is :mod:`needlesim.core.batch.sweep` (numpy only); this package turns it
into tables and files, runs it in chunks on many cores or a Dask cluster, and draws maps.
"""

from .api import sweep

__all__ = ["sweep"]
