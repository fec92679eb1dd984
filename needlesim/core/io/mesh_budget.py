"""How many triangles a mesh file holds, found before it is loaded, and the budget.

Loading, cleaning and indexing a mesh takes about 1.1 kB per triangle at its peak (issue
10: a 10 M triangle STL grew past 11 GB). A file over :data:`~needlesim.core.tolerances.MAX_MESH_TRIANGLES`
is refused before that memory is spent, with the count and how to decimate it. The count
comes from the file itself, cheaply: the binary STL header, the PLY and OFF headers, a
streamed count of facets (ASCII STL) or face lines (OBJ); formats without a count
(glTF/GLB, VTK/VTP) are bounded by file size (:data:`~needlesim.core.tolerances.MAX_MESH_FILE_MB`).
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

from ..errors import MeshError
from ..tolerances import MAX_MESH_FILE_MB, MAX_MESH_TRIANGLES

#: Bytes read at a time when counting (bounded memory whatever the file size).
CHUNK = 1 << 22
#: How much of a PLY/OFF file is searched for its header.
HEADER_BYTES = 1 << 16

DECIMATE_HINT = ("decimate it first, e.g. in Python `pyvista.read(path).decimate(0.9).save(out)` "
                 "or with fast-simplification, or MeshLab's Quadric Edge Collapse Decimation")


def count_triangles(path: Path, suffix: str, size_bytes: int) -> int | None:
    """The number of triangles (faces) the file says it holds, or ``None`` for formats
    without a count."""
    with open(path, "rb") as fh:
        head = fh.read(HEADER_BYTES)
    if suffix == ".stl":
        if len(head) >= 84:
            n = struct.unpack("<I", head[80:84])[0]
            if 84 + 50 * n == size_bytes:  # a binary STL states its count exactly
                return n
        return _stream_count(path, b"endfacet") if head.lstrip()[:5].lower() == b"solid" else None
    if suffix == ".ply":
        m = re.search(rb"element\s+face\s+(\d+)", head.split(b"end_header")[0])
        return int(m.group(1)) if m else None
    if suffix == ".off":
        numbers = re.findall(rb"^\s*(\d+)\s+(\d+)\s+\d+", _strip_comments(head), flags=re.M)
        return int(numbers[0][1]) if numbers else None
    if suffix == ".obj":
        return _stream_count(path, b"\nf ") + (1 if head.startswith(b"f ") else 0)
    return None


def _strip_comments(head: bytes) -> bytes:
    return re.sub(rb"#[^\n]*", b"", head.replace(b"OFF", b"", 1))


def _stream_count(path: Path, token: bytes) -> int:
    n, tail = 0, b""
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            block = tail + chunk  # the tail is shorter than the token: nothing counted twice
            n += block.count(token)
            tail = block[-(len(token) - 1):]
    return n


def check_budget(path: Path, suffix: str, size_bytes: int) -> None:
    """Refuse (:class:`MeshError`) a mesh file over the triangle budget, before it is read."""
    limit = MAX_MESH_TRIANGLES
    n = count_triangles(path, suffix, size_bytes)
    if n is not None and n > limit:
        raise MeshError(f"{path}: {n:,} triangles is over the budget of {limit:,} per mesh (it would need about "
                        f"{n * 1.1e-6:.0f} GB to load); {DECIMATE_HINT}")
    if n is None and size_bytes > MAX_MESH_FILE_MB * 1024 * 1024:
        raise MeshError(f"{path}: {size_bytes / 2**20:.0f} MB is over the {MAX_MESH_FILE_MB:g} MB budget for a "
                        f"{suffix[1:].upper()} mesh (about {limit:,} triangles); {DECIMATE_HINT}")
