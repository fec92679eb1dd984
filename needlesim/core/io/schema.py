"""One schema layer for every file needlesim reads (manifest, markups, envelope, session).

Parsing and checking are two steps, both here:

1. :func:`parse_toml` / :func:`parse_json` turn text into plain data. Nesting deeper than
   :data:`MAX_NESTING` is refused *before* the parser runs (Python's ``json`` and
   ``tomllib`` recurse, and a file nested thousands deep raises ``RecursionError``); any
   parser failure is the file's fault and becomes the caller's error class.
2. :func:`validate` checks the data against a pydantic model in strict mode: a string is
   never read as a boolean (``critical = "false"``), a table never as a name
   (``name = {a=1}``), a list never as a unit (``units = ["mm"]``), numbers are finite,
   paths are short strings without NUL bytes. Each problem is one line of the error,
   naming the file and the field.

Nothing in a file is executed: these are data parsers and type checks only.
"""

from __future__ import annotations

import difflib
import json
import sys
from typing import Annotated, Any, TypeVar

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from ..errors import NeedlesimError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: Deepest nesting of arrays/tables/objects accepted in any file. Our own files nest at
#: most 4 deep; 64 leaves room for any tool's extra keys and is far from the parsers'
#: recursion limit (about 1,000).
MAX_NESTING = 64
#: At most this many problems are listed in one error (the first ones found).
MAX_PROBLEMS = 8
#: Longest name or path accepted, characters.
MAX_NAME_CHARS = 1024

M = TypeVar("M", bound=BaseModel)

#: A model that refuses unknown keys and never coerces a type into another.
STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, frozen=True)
#: The same, for a foreign format (Slicer markups) whose extra keys are ignored.
STRICT_OPEN = ConfigDict(strict=True, extra="ignore", allow_inf_nan=False, frozen=True)


def _no_nul(text: str) -> str:
    if "\x00" in text or any(ord(c) < 32 and c not in "\t" for c in text):
        raise ValueError("contains a NUL or control character")
    return text


#: A name or path: a non-empty string without NUL or control characters.
Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_CHARS), AfterValidator(_no_nul)]
#: Free text (descriptions, citations).
Text = Annotated[str, StringConstraints(max_length=100_000)]
#: A finite number (an int is accepted; a 400-digit int is refused as out of range).
Number = Annotated[float, Field(allow_inf_nan=False, ge=-1e12, le=1e12)]
def number(ge: float, le: float):
    """A finite number within ``[ge, le]``."""
    return Annotated[float, Field(allow_inf_nan=False, ge=ge, le=le)]


#: Three finite numbers.
Vec3 = Annotated[list[Number], Field(min_length=3, max_length=3)]


_STEP = np.zeros(256, dtype=np.int8)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in ``text``, outside double-quoted strings (numpy,
    about 0.1 s for 15 MB). A cheap pre-check: the parsers' ``RecursionError`` is caught
    as well, so an estimate thrown off by odd quoting is never a crash."""
    b = np.frombuffer(text.encode("utf-8", "replace"), dtype=np.uint8)
    if b.size == 0:
        return 0
    quote = b == ord('"')
    quote[1:] &= b[:-1] != ord("\\")
    outside = (np.cumsum(quote, dtype=np.int64) & 1) == 0
    step = _STEP[b].astype(np.int32) * outside
    return int(np.cumsum(step, dtype=np.int64).max(initial=0))


def _guard(text: str, where: str, error: type[NeedlesimError]) -> None:
    depth = nesting_depth(text)
    if depth > MAX_NESTING:
        raise error(f"{where}: nested {depth} levels deep; no needlesim file nests more than {MAX_NESTING}")


def parse_toml(text: str, where: str, error: type[NeedlesimError]) -> dict[str, Any]:
    """Parse TOML text; any failure is an ``error`` naming ``where``."""
    _guard(text, where, error)
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError, ValueError) as exc:
        raise error(f"{where}: not valid TOML ({_one_line(exc)})") from None


def parse_json(text: str, where: str, error: type[NeedlesimError]) -> Any:
    """Parse JSON text (no NaN/Infinity literals); any failure is an ``error`` naming ``where``."""
    _guard(text, where, error)

    def bad_constant(name: str) -> float:
        raise ValueError(f"{name} is not a JSON number")

    try:
        return json.loads(text, parse_constant=bad_constant)
    except (RecursionError, ValueError) as exc:  # JSONDecodeError, too-long ints, NaN
        raise error(f"{where}: not valid JSON ({_one_line(exc)})") from None


def validate(model: type[M], data: Any, where: str, error: type[NeedlesimError]) -> M:
    """``data`` checked against ``model``; every problem (up to :data:`MAX_PROBLEMS`) is one
    line of the ``error``, each naming ``where`` and the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        by_field: dict[str, list[str]] = {}  # a union gives one error per member: one line per field
        for e in exc.errors():
            by_field.setdefault(_loc(e["loc"]), []).append(problem_line(e, model))
        lines = [f"{where}: {_join(found)}" for found in list(by_field.values())[:MAX_PROBLEMS]]
        if len(by_field) > MAX_PROBLEMS:
            lines.append(f"{where}: ... and {len(by_field) - MAX_PROBLEMS} more problems")
        raise error("\n".join(lines)) from None


def _join(found: list[str]) -> str:
    if len(found) == 1:
        return found[0]
    head = found[0].split(": ", 1)[0] if ": " in found[0] else found[0]
    return head + ": " + " or ".join(f.split(": ", 1)[-1] for f in found)


def problem_line(err: dict, model: type[BaseModel]) -> str:
    """One readable line for one pydantic error."""
    loc = _loc(err["loc"])
    kind = err["type"]
    given = _short(err.get("input"))
    if kind == "extra_forbidden":
        key = str(err["loc"][-1])
        fields = _fields_at(model, err["loc"][:-1])
        close = difflib.get_close_matches(key, fields, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else (f"; valid keys: {', '.join(fields)}" if fields else "")
        prefix = _loc(err["loc"][:-1])
        return f"{prefix + ': ' if prefix else ''}unknown key {key!r}{hint}"
    if kind == "missing":
        return f"missing key {loc!r}"
    ctx = err.get("ctx") or {}
    if kind == "literal_error":
        return f"{loc} = {given} is not one of {ctx.get('expected', '')}"
    if kind == "greater_than" and ctx.get("gt") == 0:
        return f"{loc} = {given} must be a positive number"
    if kind in ("bool_type",):
        return f"{loc} = {given} must be true or false (not a string or number)"
    if kind in ("float_type", "int_type", "finite_number"):
        return f"{loc} = {given} must be a finite number"
    bound = {"less_than_equal": ("le", "at most"), "greater_than_equal": ("ge", "at least"),
             "less_than": ("lt", "below"), "greater_than": ("gt", "above")}.get(kind)
    if bound is not None:
        return f"{loc} = {given} is out of range: it must be {bound[1]} {ctx.get(bound[0])}"
    return f"{loc} = {given}: {err['msg'][0].lower() + err['msg'][1:]}"


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.endswith("]") and "[" in part:
            continue  # pydantic's union-member labels ("function-after[...]")
        else:
            out += ("." if out else "") + str(part)
    return out


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        current = _inner_model(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return []


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
