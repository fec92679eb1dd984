"""``needlesim grade attempts.csv -o grades.csv``: a thin shell over
:mod:`needlesim.teaching.grading`. Bad rows get their reason and the run goes on (exit 0);
a table that cannot be read, or lacks a column, is one line on stderr (exit 2) and no file."""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path

from .core.errors import NeedlesimError

#: Largest table read, bytes (a class of hundreds of rows is tens of kB).
MAX_TABLE_BYTES = 16 * 1024 * 1024


def add_commands(sub: argparse._SubParsersAction) -> None:
    from .teaching.grading import OPTIONAL, REQUIRED

    g = sub.add_parser("grade", help="score a class's table of submitted aims (CSV in, CSV out)",
                       description="Score every row of a CSV of aims with the practice scoring. Columns: "
                                   f"{', '.join(REQUIRED)}; optionally {', '.join(OPTIONAL)}. The output keeps "
                                   "every input row and adds status, score, verdict, the parts and the reasons; "
                                   "a bad row gets its reason and never stops the run.")
    g.add_argument("table", type=Path, help="attempts.csv")
    g.add_argument("-o", "--output", type=Path, required=True, help="grades.csv")
    g.add_argument("--envelope", default="nam2019", help="envelope name or TOML file (default nam2019)")
    g.set_defaults(func=_cmd_grade)


def read_table(path: Path) -> tuple[list[str], list[dict]]:
    from .teaching.grading import MAX_ROWS, GradeError, check_header

    import stat

    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise GradeError(f"{path} is not a regular file (a grading table is a .csv text file)")
        if st.st_size > MAX_TABLE_BYTES:
            raise GradeError(f"{path} is larger than {MAX_TABLE_BYTES // 2**20} MiB: not a class's table")
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = list(reader.fieldnames or [])
            if not header:
                raise GradeError(f"{path} is empty: a grading table starts with a header row")
            header = [h.strip() for h in header]
            reader.fieldnames = header
            check_header(header)
            rows = []
            for row in reader:
                if len(rows) >= MAX_ROWS:
                    raise GradeError(f"{path} has more than {MAX_ROWS} rows")
                extra = row.pop(None, None)  # cells beyond the header
                if extra:
                    row["_extra"] = ",".join(extra)
                rows.append({k: ("" if v is None else v) for k, v in row.items()})
    except OSError as exc:
        raise GradeError(f"cannot read {path} ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise GradeError(f"{path} is not UTF-8 text") from None
    except csv.Error as exc:
        raise GradeError(f"{path} is not a readable CSV table ({exc})") from None
    return header, rows


def _cmd_grade(args: argparse.Namespace) -> int:
    from .core.verdict.envelope import load_envelope
    from .teaching.grading import ADDED, GradeError, SceneCache, grade_row

    out = args.output
    if out.suffix.lower() != ".csv":
        raise GradeError(f"output {out} must end in .csv")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir() or out.is_dir():
        raise GradeError(f"cannot write {out}: {'it is a folder' if out.is_dir() else f'folder {parent} does not exist'}")
    if out.exists() and args.table.exists() and os.path.samefile(out, args.table):
        raise GradeError("the output would overwrite the table being graded")
    envelope = load_envelope(args.envelope)
    header, rows = read_table(args.table)
    scenes = SceneCache(base=args.table.parent)
    graded = [grade_row({k: v for k, v in r.items() if k != "_extra"}, scenes, envelope=envelope) for r in rows]
    for g, r in zip(graded, rows):
        if "_extra" in r and g["status"] == "ok":
            g["status"], g["reasons"] = "error", f"the row has more cells than the header ({r['_extra']!r} beyond it)"
            for k in ADDED[1:-1]:
                g[k] = ""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=header + list(ADDED))
            w.writeheader()
            w.writerows(graded)
        os.replace(tmp, out)
    except OSError as exc:
        raise GradeError(f"cannot write {out} ({exc.strerror or exc})") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    bad = sum(g["status"] == "error" for g in graded)
    print(f"wrote {out}: {len(graded)} rows graded" + (f", {bad} with errors (see their reasons)" if bad else ""))
    return 0


__all__ = ["add_commands", "read_table", "NeedlesimError"]
