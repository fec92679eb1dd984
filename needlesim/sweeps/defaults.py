"""Every default and limit of the sweep layer in one place, each with its reason (the
engine's own tolerances stay in :mod:`needlesim.core.tolerances`; a sweep's agreement with
single ``check`` calls is :data:`needlesim.core.batch.sweep.SWEEP_TOL`)."""

from __future__ import annotations

import math

#: Directions per chunk: a chunk is the unit of work, of resumption and of progress. 2048
#: directions cast in ~10-30 ms on the default phantom, so a chunk file is a few hundred
#: kB and an interrupted run loses well under a second of work.
CHUNK_DIRECTIONS = 2048

#: The job file of a parts folder is rewritten after every finished chunk while it records
#: at most this many chunks (a few tens of kB); beyond, at most once per
#: :data:`RECORD_INTERVAL_S`, and always when the run stops, so that a sweep of 20,000
#: chunks does not rewrite megabytes per chunk. A kill -9 in between loses the records of
#: under a second of chunks, which the rerun recomputes.
RECORD_EVERY_CHUNK_UP_TO = 512
RECORD_INTERVAL_S = 1.0

#: Most needle lines (entries x directions x Monte Carlo samples, or x phantoms) a sweep
#: runs without ``--yes`` / ``confirm=True``: about a minute on two cores. Beyond it a
#: typo in a grid (``-30:60:0.001``) is far more likely than intent.
MAX_LINES_WITHOUT_CONFIRM = 50_000_000

#: Most phantom individuals a population sweep builds without ``--yes``: each takes
#: 13-30 s to build (a warp and a rebuild of the neural structures), so 50 is up to about
#: 25 minutes; more is far more likely a typo than intent.
MAX_PHANTOMS_WITHOUT_CONFIRM = 50

#: Most requested depths: the depth axis is free (one cast gives every depth) but each
#: depth is a verdict column.
MAX_DEPTHS = 2001

#: Hand error for Monte Carlo, per axis, degrees. Gruber-Rouh et al. (Korean J Radiol
#: 2015) report a free-hand angular deviation of 3.4 +/- 3.1 deg; with independent normal
#: errors of s.d. ``s`` in the lateral and inferior angles the total deviation is Rayleigh
#: with mean ``s sqrt(pi / 2)``, so ``s = 3.4 / sqrt(pi / 2) = 2.71`` deg reproduces the
#: published mean (its spread, 3.1, is wider than the Rayleigh 1.8: real hands have tails).
ANGLE_SD_DEG = 3.4 / math.sqrt(math.pi / 2)

#: Entry-point error per axis (left-right and cranio-caudal on the posterior surface),
#: mm. No published figure for palpating the PSIS entry was found (a gap, see the docs);
#: 2 mm is an assumption, of the order of the 2.7 mm tolerable placement error quoted for
#: the default margin.
ENTRY_SD_MM = 2.0

#: Depth error, mm: how far a hand overshoots the intended depth. An assumption (no
#: published value); 2 mm is about one turn of a harvest needle's advance.
DEPTH_SD_MM = 2.0

#: Seed used when none is given, so that two runs of one command give one table.
DEFAULT_SEED = 20190347

#: Normal quantile of the Wilson score interval: 95 % two-sided.
WILSON_Z = 1.959963984540054

#: Monte Carlo lines cast per batch (memory: about 1 kB per line with hits).
MC_BATCH_LINES = 200_000
