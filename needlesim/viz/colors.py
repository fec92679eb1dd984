"""Colours by structure role, by tissue along the needle, and by verdict (pyvista-free)."""

from __future__ import annotations

from ..core.model.results import Tissue
from ..core.model.scene import Role, Structure

ROLE_COLORS: dict[Role, str] = {
    Role.SKIN: "#e8b894",
    Role.CORTICAL_BONE: "#e9e2cf",
    Role.SACRUM: "#d9ceb2",
    Role.MARROW: "#9c3b2e",
    Role.NERVE_ROOT: "#f2c200",
    Role.DURA: "#5fa8e8",
    Role.NERVE: "#f08c00",
    Role.VESSEL: "#d62728",
    Role.JOINT: "#8c8c8c",
    Role.OTHER: "#a0a0a0",
}
VEIN_COLOR = "#2851a3"

#: Default opacity: bone see-through so the foramina, roots and sac show through it.
ROLE_OPACITY: dict[Role, float] = {
    Role.SKIN: 0.12, Role.CORTICAL_BONE: 0.35, Role.SACRUM: 0.35, Role.MARROW: 0.5, Role.NERVE_ROOT: 1.0,
    Role.DURA: 0.55, Role.NERVE: 1.0, Role.VESSEL: 1.0, Role.JOINT: 0.5, Role.OTHER: 0.6,
}

#: Groups for the structure panel.
GROUPS: dict[str, tuple[Role, ...]] = {
    "bone": (Role.CORTICAL_BONE, Role.SACRUM, Role.MARROW, Role.JOINT),
    "neural": (Role.NERVE_ROOT, Role.DURA, Role.NERVE),
    "vessels": (Role.VESSEL,),
    "skin": (Role.SKIN,),
    "other": (Role.OTHER,),
}

TISSUE_COLORS: dict[Tissue, str] = {
    Tissue.OUTSIDE: "#9e9e9e",
    Tissue.SOFT_TISSUE: "#f4a6a6",
    Tissue.CORTEX: "#fffbe8",
    Tissue.MARROW: "#b22222",
    Tissue.JOINT: "#7a7a7a",
    Tissue.CRITICAL: "#ff00ff",
    Tissue.OTHER: "#c0c0c0",
}

VERDICT_COLORS = {"safe": "#1b8a3a", "caution": "#d98e04", "danger": "#c62828"}
#: Critical structures within the margin, in the 3D view and as the swatch of their table
#: rows: a violet no structure, tissue, marker or verdict uses (the sciatic nerve is
#: orange; CIE76 distance to every other colour here is at least 40, pinned by a test).
HIGHLIGHT_COLOR = "#7c4dff"
#: Markers on the needle: where it crosses a surface, the bone entry, the tip.
MARKER_COLORS = {"hits": "#00e5ff", "entry": "#3949ab", "tip": "#151515"}
#: The landmark points.
LANDMARK_COLOR = "#1b5e20"
NEEDLE_COLOR = "#c0c0c8"
COMPARE_COLOR = "#4db6ac"


def structure_color(s: Structure) -> str:
    if s.role is Role.VESSEL and "vein" in s.name.lower():
        return VEIN_COLOR
    return ROLE_COLORS[s.role]


def group_of(s: Structure) -> str:
    for group, roles in GROUPS.items():
        if s.role in roles:
            return group
    return "other"
