"""Batched needle lines: the kernels behind angle sweeps."""
