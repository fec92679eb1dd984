"""Safe envelopes: published aiming rules as data files with their citation.

An envelope bounds the lateral angle, the inferior angle and the depth; any bound may be
absent. The built-in ones live in ``needlesim/data/envelopes/*.toml``; a user may pass
the path of their own file of the same form.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Optional

from pydantic import BaseModel

from ..errors import EnvelopeError
from ..io.files import read_text
from ..io.schema import STRICT, Name, Number, Text, parse_toml, validate
from ..model.trajectory import Trajectory

DEFAULT_ENVELOPE = "nam2019"
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


class _BoundsSpec(BaseModel):
    model_config = STRICT
    min: Optional[Number] = None
    max: Optional[Number] = None


class _EnvelopeSpec(BaseModel):
    """An envelope file: every key is checked (strict types, finite numbers)."""

    model_config = STRICT
    name: Name
    title: Name
    citation: Name
    summary: Text = ""
    tolerance_note: Text = ""
    lateral_deg: _BoundsSpec = _BoundsSpec()
    inferior_deg: _BoundsSpec = _BoundsSpec()
    depth_mm: _BoundsSpec = _BoundsSpec()


def load_envelope(name_or_path: str | Path = DEFAULT_ENVELOPE) -> Envelope:
    """A built-in envelope by name (see :func:`list_envelopes`) or one from a TOML file."""
    text, where = _envelope_text(name_or_path)
    doc = parse_toml(text, where, EnvelopeError)
    for key in ("name", "title", "citation"):
        if key not in doc:
            raise EnvelopeError(f"{where}: missing {key!r} (every envelope names its source)")
    spec = validate(_EnvelopeSpec, doc, where, EnvelopeError)
    return Envelope(name=spec.name, title=spec.title, citation=spec.citation,
                    summary=spec.summary, tolerance_note=spec.tolerance_note,
                    **{key: _bounds(getattr(spec, key), where, key) for key, _, _ in _RULES})


def _envelope_text(name_or_path: str | Path) -> tuple[str, str]:
    name = str(name_or_path)
    if isinstance(name_or_path, str) and name in list_envelopes():
        return (resources.files("needlesim.data") / "envelopes" / f"{name}.toml").read_text(encoding="utf-8"), name
    if "\x00" in name:
        raise EnvelopeError(f"{name!r}: not an envelope name or file path (it has a NUL byte)")
    p = Path(name_or_path)
    if p.suffix == ".toml" or os.path.lexists(p) or os.sep in name:
        return read_text(p, "envelope", EnvelopeError), str(p)
    raise EnvelopeError(f"unknown envelope {name!r}; built-in: {', '.join(list_envelopes())}")


def _bounds(spec: _BoundsSpec, where: str, key: str) -> Bounds:
    b = Bounds(None if spec.min is None else float(spec.min), None if spec.max is None else float(spec.max))
    if b.min is not None and b.max is not None and b.min > b.max:
        raise EnvelopeError(f"{where}: {key} has min {b.min:g} above max {b.max:g}")
    return b
