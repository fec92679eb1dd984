"""Errors and warnings raised by needlesim.

Every error a user can cause (a bad file, a bad angle, an unknown landmark) is a
:class:`NeedlesimError` whose message is one readable sentence naming the thing at fault.
The CLI prints that sentence and exits non-zero; the GUI shows it and keeps its state.
"""

from __future__ import annotations


class NeedlesimError(Exception):
    """Base class for every error a user can cause."""


class MeshError(NeedlesimError):
    """A mesh file is missing, unreadable, empty, non-finite or of implausible size."""


class ManifestError(NeedlesimError):
    """A scene manifest or markups file is missing, malformed or inconsistent."""


class TrajectoryError(NeedlesimError, ValueError):
    """An angle, depth, diameter or entry point is NaN, infinite or out of range."""


class LandmarkError(NeedlesimError, KeyError):
    """A named landmark is unknown, or cannot be found on a pelvis."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class EnvelopeError(NeedlesimError):
    """An envelope file is missing or malformed, or an envelope name is unknown."""


class NeedlesimWarning(UserWarning):
    """Something loaded, but a result that depends on it may be unreliable (e.g. an open mesh)."""
