"""Risk maps over angle space with matplotlib (Agg, no window): the maximum safe depth
(or, for a Monte Carlo table, P(danger)) per lateral x inferior aim, hatched where the
needle is short of the bone at every safe depth, the envelope's box and its centre, and a
panel naming the first critical structure touched."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .grid import OutputError
from .table import read_table

#: How the aims whose needle is short of the bone at every safe depth are drawn.
SHORT_OF_BONE_HATCH = "////"
SHORT_OF_BONE_LABEL = "short of bone: no safe depth (no bone before the max. safe depth)"

CAPTION = ("Lateral angle: from the para-sagittal plane, + away from the midline. Inferior angle: from the "
           "transverse plane, + toward the feet. Depths in mm along the needle from the skin puncture "
           "(docs/conventions.md). Blank: no anterior component.")


@dataclass(frozen=True)
class RiskMap:
    """The drawn figure and what tests and callers may want to check on it."""

    figure: object  #: matplotlib Figure
    envelope_box: tuple[float, float, float, float] | None  #: (lat min, lat max, inf min, inf max), deg
    centre_deg: tuple[float, float] | None  #: the envelope's centre (lateral, inferior), deg, if it has both bounds
    quantity: str
    short_of_bone: int  #: how many aims are hatched "short of bone"


def _grid(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = frame.pivot_table(index="inferior_deg", columns="lateral_deg", values=column, aggfunc="first",
                              dropna=False)
    return table.columns.to_numpy(float), table.index.to_numpy(float), table.to_numpy()


def _edges(c: np.ndarray) -> np.ndarray:
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]])


def _box(meta: dict, lat: np.ndarray, inf: np.ndarray) -> tuple[float, float, float, float] | None:
    env = meta.get("envelope") or {}
    lb, ib = env.get("lateral_deg", [None, None]), env.get("inferior_deg", [None, None])
    if lb == [None, None] and ib == [None, None]:
        return None
    le, ie = _edges(lat), _edges(inf)
    pick = lambda v, d: d if v is None else float(v)  # noqa: E731
    return (pick(lb[0], le[0]), pick(lb[1], le[-1]), pick(ib[0], ie[0]), pick(ib[1], ie[-1]))


def draw_map(frame: pd.DataFrame, meta: dict, *, entry: str | None = None, depth_mm: float | None = None) -> RiskMap:
    """Draw the two panels for one entry of a sweep or Monte Carlo table."""
    from matplotlib import patches
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    entry = entry or str(frame["entry"].iloc[0])
    rows = frame[frame["entry"] == entry]
    if rows.empty:
        known = ", ".join(map(str, frame["entry"].unique()))
        raise OutputError(f"entry {entry!r} is not in this table; it has {known}")
    quantity, label, rows = _quantity(rows, meta, depth_mm)
    lat, inf, z = _grid(rows, quantity)
    fig = Figure(figsize=(13, 5.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    prob = quantity.startswith("p_")
    top = 1.0 if prob else float(max(meta.get("depths_mm") or [np.nanmax(z)]))
    mesh = ax1.pcolormesh(_edges(lat), _edges(inf), np.ma.masked_invalid(z.astype(float)), shading="flat",
                          cmap="magma_r" if prob else "viridis", vmin=0.0, vmax=top)
    fig.colorbar(mesh, ax=ax1, label=label, extend="neither" if prob else "max")
    short = 0 if prob else _hatch_short_of_bone(ax1, rows, lat, inf)
    _structures_panel(ax2, rows, lat, inf, meta)
    box, centre = _box(meta, lat, inf), _centre(meta)
    for ax in (ax1, ax2):
        if box is not None:
            ax.add_patch(patches.Rectangle((box[0], box[2]), box[1] - box[0], box[3] - box[2], fill=False,
                                           edgecolor="red", linewidth=2, label=f"envelope ({meta['envelope']['name']})",
                                           gid="envelope-box"))
        if centre is not None:
            ax.plot(*centre, marker="X", color="white", markeredgecolor="black", markersize=12, linestyle="none",
                    label=f"envelope centre ({centre[0]:g}, {centre[1]:g})", gid="envelope-centre")
        ax.set_xlabel("lateral angle (deg)")
        ax.set_aspect("equal")
    ax1.set_ylabel("inferior angle (deg)")
    handles, _ = ax1.get_legend_handles_labels()
    if short:
        handles.append(patches.Patch(facecolor="none", edgecolor="black", hatch=SHORT_OF_BONE_HATCH,
                                     label=SHORT_OF_BONE_LABEL))
    ax1.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.01), fontsize=8, ncols=1)
    what = f"{label} (a contact, or leaving the bone other than by the outer table; " \
        f"{meta.get('samples', '?')} samples per aim)" if prob else f"{label}: before a margin, a contact or a breach"
    fig.suptitle(f"{entry}: {what}; needle {meta.get('needle_diameter_mm', '?')} mm, margin "
                 f"{meta.get('margin_mm', '?')} mm, {meta.get('backend', '?')}\n"
                 + "\n".join(textwrap.wrap(f"scene: {meta.get('scene_name', '?')}{_landmarks_note(meta)}", 150)), fontsize=10)
    fig.supxlabel("\n".join(textwrap.wrap(CAPTION, 170)), fontsize=7.5)
    return RiskMap(fig, box, centre, quantity, short)


def _centre(meta: dict) -> tuple[float, float] | None:
    """The middle of the envelope's lateral and inferior ranges (None unless both are bounded)."""
    env = meta.get("envelope") or {}
    lb, ib = env.get("lateral_deg", [None, None]), env.get("inferior_deg", [None, None])
    if None in (*lb, *ib):
        return None
    return (float(lb[0] + lb[1]) / 2, float(ib[0] + ib[1]) / 2)


def _hatch_short_of_bone(ax, rows: pd.DataFrame, lat: np.ndarray, inf: np.ndarray) -> int:
    """Hatch the feasible aims with no safe depth for want of bone (``reaches_bone`` false)."""
    if "reaches_bone" not in rows.columns:
        return 0
    short = (~rows["reaches_bone"].astype(bool)) & rows["feasible"].astype(bool)
    _, _, z = _grid(rows.assign(_short=short.astype(float)), "_short")
    mask = ~(np.nan_to_num(z.astype(float)) > 0)
    if mask.all():
        return 0
    ax.pcolor(_edges(lat), _edges(inf), np.ma.masked_where(mask, np.ones(z.shape)), facecolor="none",
              edgecolor="black", hatch=SHORT_OF_BONE_HATCH, linewidth=0.0, gid="short-of-bone")
    return int((~mask).sum())


def _quantity(rows: pd.DataFrame, meta: dict, depth_mm: float | None) -> tuple[str, str, pd.DataFrame]:
    if "p_any" not in rows.columns:
        return "max_safe_mm", "maximum safe depth (mm from the skin)", rows
    depths = np.unique(rows["depth_mm"])
    want = depth_mm if depth_mm is not None else float(depths.max())
    d = float(depths[np.argmin(np.abs(depths - want))])
    return "p_any", f"P(contact or dangerous breach) at {d:g} mm", rows[rows["depth_mm"] == d]


def _panel_names(rows: pd.DataFrame, meta: dict) -> tuple[pd.Series, str]:
    """Per row, the structure the second panel names, and the panel's title."""
    if "first_critical" in rows.columns:
        reach = meta.get("max_length_mm")
        within = f" within {reach:g} mm of the skin" if reach is not None else ""
        return rows["first_critical"].fillna("").astype(str), f"first critical structure the needle touches{within}"
    cols = [c for c in rows.columns if c.startswith("p_contact[")]
    if not cols:
        return pd.Series([""] * len(rows), index=rows.index), "no structure data"
    p = rows[cols].to_numpy(float)
    best = np.nanargmax(np.where(np.isnan(p), -1.0, p), axis=1)
    names = np.where(np.nanmax(np.where(np.isnan(p), 0.0, p), axis=1) > 0,
                     np.array([c[10:-1] for c in cols], dtype=object)[best], "")
    depth = f" by {float(rows['depth_mm'].iloc[0]):g} mm" if "depth_mm" in rows.columns and len(rows) else ""
    return pd.Series(names, index=rows.index), f"critical structure most likely touched{depth}"


def _structures_panel(ax, rows: pd.DataFrame, lat: np.ndarray, inf: np.ndarray, meta: dict) -> None:
    from matplotlib import colors, patches

    names, title = _panel_names(rows, meta)
    if "feasible" in rows.columns:
        names = names.where(rows["feasible"].astype(bool), "infeasible")
    elif "p_any" in rows.columns:
        names = names.where(rows["p_any"].notna(), "infeasible")
    labels = sorted(set(names) - {"", "infeasible"})
    order = [("none touched" if "first_critical" in rows.columns else "none touched in any sample")
             if title != "no structure data" else "none"] + labels
    code = names.map(lambda n: -1 if n == "infeasible" else (0 if n == "" else 1 + labels.index(n)))
    _, _, z = _grid(rows.assign(_code=code.to_numpy(float)), "_code")
    z = np.ma.masked_where(~np.isfinite(z) | (z < 0), z)
    palette = ["#e8e8e8"] + [f"C{i % 10}" for i in range(len(labels))]
    cmap = colors.ListedColormap(palette)
    ax.pcolormesh(_edges(lat), _edges(inf), z, cmap=cmap, vmin=-0.5, vmax=len(palette) - 0.5, shading="flat")
    ax.legend(handles=[patches.Patch(color=c, label=n) for c, n in zip(palette, order)], loc="lower right",
              fontsize=8)
    ax.set_title(title, fontsize=10)


def check_landmarks(meta: dict, table: str | Path, landmarks: str | Path) -> None:
    """Refuse a table not swept with the corrected landmarks file ``landmarks`` (its bytes)."""
    from ..anatomy.corrected import file_sha256
    from ..anatomy.review import read_landmarks

    read_landmarks(landmarks)  # a readable markups file, or one line saying why not
    recorded = dict(meta.get("landmarks_file") or {})
    if recorded.get("sha256") != file_sha256(Path(landmarks)):
        was = f"with {recorded.get('path')}, another version or file" if recorded else "without a landmarks file"
        raise OutputError(f"{table} was swept {was}, not with {landmarks}: sweep again with --landmarks {landmarks}")


def _landmarks_note(meta: dict) -> str:
    given = dict(meta.get("landmarks_file") or {})
    if not given:
        return ""
    moved = ", ".join(given.get("moved") or []) or "none"
    return f"; landmarks from {Path(str(given.get('path', '?'))).name} (moved: {moved})"


def save_map(table: str | Path, output: str | Path, *, entry: str | None = None, depth_mm: float | None = None,
             landmarks: str | Path | None = None) -> RiskMap:
    """Draw the map of ``table`` into ``output`` (``.png`` or ``.svg``), atomically; with
    ``landmarks``, only if the table was swept with that corrected landmarks file."""
    import os

    output = Path(output)
    if output.suffix.lower() not in (".png", ".svg"):
        raise OutputError(f"map output {output} must end in .png or .svg")
    frame, meta = read_table(table)
    if landmarks is not None:
        check_landmarks(meta, table, landmarks)
    drawn = draw_map(frame, meta, entry=entry, depth_mm=depth_mm)
    tmp = output.with_name(f".{output.name}.tmp{output.suffix}")
    try:
        drawn.figure.savefig(tmp, dpi=130)
        os.replace(tmp, output)
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return drawn
