"""Envelopes, the verdict rules and the report."""
