"""Safe envelopes: published aiming rules as data files with their citation.

An envelope bounds the lateral angle, the inferior angle and the depth; any bound may be
absent. The built-in ones live in ``needlesim/data/envelopes/*.toml``; a user may pass
the path of their own file of the same form.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import EnvelopeError
from ..model.trajectory import Trajectory

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_ENVELOPE = "nam2019"
_KEYS = {"name", "title", "citation", "summary", "tolerance_note", "lateral_deg", "inferior_deg", "depth_mm"}
_RULES = (("lateral_deg", "lateral angle", "deg"), ("inferior_deg", "inferior angle", "deg"),
          ("depth_mm", "depth", "mm"))


@dataclass(frozen=True)
class Bounds:
    """A closed range; ``None`` on a side means unbounded."""

    min: float | None = None
    max: float | None = None

    def contains(self, x: float) -> bool:
        return (self.min is None or x >= self.min) and (self.max is None or x <= self.max)

    def describe(self, unit: str) -> str:
        if self.min is not None and self.max is not None:
            return f"{self.min:g} to {self.max:g} {unit}"
        if self.max is not None:
            return f"at most {self.max:g} {unit}"
        if self.min is not None:
            return f"at least {self.min:g} {unit}"
        return "any"


@dataclass(frozen=True)
class RuleCheck:
    """One envelope rule applied to one trajectory."""

    rule: str
    value: float
    bounds: Bounds
    unit: str
    inside: bool

    def describe(self) -> str:
        state = "inside" if self.inside else "outside"
        return f"{self.rule} {self.value:.1f} {self.unit} is {state} {self.bounds.describe(self.unit)}"

    def to_dict(self) -> dict:
        return {"rule": self.rule, "value": self.value, "min": self.bounds.min, "max": self.bounds.max,
                "unit": self.unit, "inside": self.inside}


@dataclass(frozen=True)
class Envelope:
    name: str
    title: str
    citation: str
    lateral_deg: Bounds
    inferior_deg: Bounds
    depth_mm: Bounds
    summary: str = ""
    tolerance_note: str = ""

    def check(self, trajectory: Trajectory) -> tuple[RuleCheck, ...]:
        """Each rule's verdict on ``trajectory``."""
        out = []
        for key, label, unit in _RULES:
            b: Bounds = getattr(self, key)
            if b.min is None and b.max is None:
                continue
            v = float(getattr(trajectory, key))
            out.append(RuleCheck(label, v, b, unit, b.contains(v)))
        return tuple(out)

    def contains(self, trajectory: Trajectory) -> bool:
        return all(r.inside for r in self.check(trajectory))


def list_envelopes() -> list[str]:
    """Names of the built-in envelopes."""
    folder = resources.files("needlesim.data") / "envelopes"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_envelope(name_or_path: str | Path = DEFAULT_ENVELOPE) -> Envelope:
    """A built-in envelope by name (see :func:`list_envelopes`) or one from a TOML file."""
    text, where = _envelope_text(name_or_path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EnvelopeError(f"{where}: not valid TOML ({exc})") from None
    unknown = set(doc) - _KEYS
    if unknown:
        raise EnvelopeError(f"{where}: unknown keys {sorted(unknown)}; valid: {sorted(_KEYS)}")
    for key in ("name", "title", "citation"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise EnvelopeError(f"{where}: missing {key!r} (every envelope names its source)")
    return Envelope(name=doc["name"], title=doc["title"], citation=doc["citation"],
                    summary=doc.get("summary", ""), tolerance_note=doc.get("tolerance_note", ""),
                    **{key: _bounds(doc.get(key, {}), where, key) for key, _, _ in _RULES})


def _envelope_text(name_or_path: str | Path) -> tuple[str, str]:
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        try:
            return p.read_text(encoding="utf-8"), str(p)
        except OSError as exc:
            raise EnvelopeError(f"{p}: cannot read envelope file ({exc.strerror or exc})") from None
    name = str(name_or_path)
    if name not in list_envelopes():
        raise EnvelopeError(f"unknown envelope {name!r}; built-in: {', '.join(list_envelopes())}")
    return (resources.files("needlesim.data") / "envelopes" / f"{name}.toml").read_text(encoding="utf-8"), name


def _bounds(table: object, where: str, key: str) -> Bounds:
    if not isinstance(table, dict) or set(table) - {"min", "max"}:
        raise EnvelopeError(f"{where}: [{key}] must be a table with 'min' and/or 'max'")
    vals = {}
    for k, v in table.items():
        if not isinstance(v, (int, float)) or not math.isfinite(v):
            raise EnvelopeError(f"{where}: {key}.{k} must be a finite number")
        vals[k] = float(v)
    b = Bounds(vals.get("min"), vals.get("max"))
    if b.min is not None and b.max is not None and b.min > b.max:
        raise EnvelopeError(f"{where}: {key} has min {b.min:g} above max {b.max:g}")
    return b
