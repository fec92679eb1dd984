"""needlesim: aim a bone-marrow harvest needle and see the risk, live.

``import needlesim`` is light: it loads numpy and the Qt-free core only when used.
"""

from ._version import __version__

__all__ = ["__version__", "sweep"]


def __getattr__(name: str):
    """``needlesim.sweep(...)`` without importing pandas on ``import needlesim``."""
    if name == "sweep":
        from .sweeps import sweep

        return sweep
    raise AttributeError(f"module 'needlesim' has no attribute {name!r}")
