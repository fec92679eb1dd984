"""needlesim: aim a bone-marrow harvest needle and see the risk, live.

``import needlesim`` is light: it loads numpy and the Qt-free core only when used.
"""

from ._version import __version__

__all__ = ["__version__"]
