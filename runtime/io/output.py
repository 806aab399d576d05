"""Writing output relations as CSV files, or as tables for people (LANGUAGE.md §7)."""
from __future__ import annotations

import errno
import os
import tempfile
from typing import TYPE_CHECKING

from dfl.errors import DflError
from dfl.terminal import printable
from dfl.ir.types import Schema
from dfl.runtime.io import output_set
from dfl.ir.values import format_value, sort_rows
from dfl.runtime.io.csv_text import format_csv_text  # noqa: F401 - its name here too (tests, callers)

if TYPE_CHECKING:
    from rich.console import Console

# numpy, the columnar writers and rich are imported where used: a small run that wrote
# rows (the interpreter's) as CSV starts without them (docs/cpu.md, "Start-up")

Relations = dict[str, tuple[Schema, list[tuple]]]


def file_bytes(schema: Schema, rows, fmt: str) -> bytes:
    """One output file's bytes: rows (a list) as CSV by the reference writer, anything else
    (columns, another format) by the columnar writers (runtime/io/writers.py)."""
    if fmt == "csv" and isinstance(rows, (list, tuple, set)):
        return format_csv_text(schema, rows).encode("utf-8")
    from dfl.backends.columnar.frame import Frame
    from dfl.runtime.io.writers import render

    return render(Frame.from_rows(rows, schema), fmt)


def _extension(fmt: str) -> str:
    if fmt == "csv":
        return ".csv"
    from dfl.runtime.io.writers import OUTPUT_FORMATS

    return OUTPUT_FORMATS[fmt]


def write_outputs(out_dir: str, relations: Relations, fmt: str = "csv") -> None:
    """Write each relation `r` to `out_dir/r.csv` (or `.parquet`, `.arrow`, `.jsonl` as
    `fmt` says), all of them or none (§7). A relation's rows may be a Frame (columns)."""
    ext = _extension(fmt)
    _write_all({os.path.join(out_dir, f"{name}{ext}"): file_bytes(schema, rows, fmt)
                for name, (schema, rows) in relations.items()}, out_dir)


def write_each_tick(out_dir: str, ticks: list[Relations], fmt: str = "csv") -> None:
    """Write `out_dir/<tick>/<r>.csv` (or another `fmt`) for every tick (`ticks[t]` is tick
    t), all or none."""
    ext = _extension(fmt)
    _write_all({os.path.join(out_dir, str(tick), f"{name}{ext}"): file_bytes(schema, rows, fmt)
                for tick, relations in enumerate(ticks)
                for name, (schema, rows) in relations.items()}, out_dir)


def _write_all(files: dict[str, bytes], out_dir: str) -> None:
    """Put every file under `out_dir` as one set (runtime/io/output_set.py), else, where the
    file system cannot exchange folders, one by one (`_write_each`).

    On any failure, what this call created (temporaries, files, folders) is removed, so a
    failed run leaves no partial output to be mistaken for a result.
    """
    made_dirs: list[str] = []
    try:
        parent = os.path.dirname(os.path.realpath(out_dir))
        _make_dirs(parent, made_dirs)
        output_set.reclaim(parent)
        # Exchanging the working folder would leave the shell that ran us in a deleted one.
        if output_set.supported(parent) and not _is_cwd(out_dir):
            try:
                _write_set(files, out_dir)
                return
            except output_set.NoExchange:
                pass  # e.g. DIR is a mount point: nothing changed yet
        _write_each(files, out_dir)
    except BaseException as e:
        _remove_dirs(made_dirs)
        if isinstance(e, OSError):
            where = e.filename or out_dir
            raise DflError(f"cannot write output {where}: {e.strerror or e}", kind="output") from None
        raise


def _write_set(files: dict[str, bytes], out_dir: str) -> None:
    """All files into a fresh folder next to `out_dir`, which then takes its place at once."""
    rel = {os.path.relpath(path, out_dir): text for path, text in files.items()}
    names = sorted(r.replace(os.sep, "/") for r in rel)
    # A DIR that is a symbolic link stays one: the folder it points to is what is replaced.
    out_dir = os.path.realpath(out_dir)
    _check_collisions(out_dir, names)
    new = output_set.new_folder(out_dir)
    try:
        try:
            output_set.write_manifest(new, names)  # first: a reclaim after a kill knows what is ours
        except OSError as e:  # too many outputs to record: write them one by one
            raise output_set.NoExchange(e.errno, f"the manifest does not fit: {e.strerror}", new) from None
        for path, text in rel.items():
            target = os.path.join(new, path)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            # O_EXCL on a fresh name; mode 0o666 so the umask decides, as for any new file.
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with os.fdopen(fd, "wb") as f:
                f.write(text)
        output_set.link_foreign(out_dir, new, set(names))
        output_set.swap_in(new, out_dir)
    except BaseException:
        if os.path.isdir(new):  # not swapped in yet (or the old folder not yet emptied)
            if os.path.isdir(out_dir):
                output_set.settle(new, out_dir)
            else:
                output_set.discard(new)
        raise


def _check_collisions(out_dir: str, paths: list[str]) -> None:
    """Fail as writing in place would where the user has a folder at an output's path, or a
    file where a tick's folder goes: the set must not carry their entry away."""
    for rel in paths:
        parts = rel.split("/")
        for i in range(1, len(parts) + 1):
            path = os.path.join(out_dir, *parts[:i])
            if i == len(parts) and os.path.isdir(path):
                raise IsADirectoryError(errno.EISDIR, "is a folder", path)
            if i < len(parts) and os.path.lexists(path) and not os.path.isdir(path):
                raise NotADirectoryError(errno.ENOTDIR, "not a folder", path)


def _write_each(files: dict[str, bytes], out_dir: str) -> None:
    """Write every file under a temporary name, then rename them all into place."""
    made_dirs: list[str] = []
    temps: dict[str, str] = {}
    placed: list[str] = []
    mode = 0o666 & ~_umask()
    for folder in {out_dir, *map(os.path.dirname, files)}:
        output_set.reclaim(folder)  # temporaries of killed runs that wrote here this way
    try:
        _make_dirs(out_dir, made_dirs)
        for path, text in files.items():
            folder = os.path.dirname(path)
            _make_dirs(folder, made_dirs)
            # In the same folder as the target, so os.replace is a rename, never a copy.
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f"{output_set.TMP_PREFIX}{os.getpid()}.", suffix=".tmp")
            temps[path] = tmp
            os.fchmod(fd, mode)  # mkstemp makes 0600; an output gets what the umask says
            with os.fdopen(fd, "wb") as f:
                f.write(text)
        for path, tmp in temps.items():
            os.replace(tmp, path)
            placed.append(path)
        _record(out_dir, {os.path.relpath(p, out_dir).replace(os.sep, "/") for p in files})
    except BaseException:
        for path in [*temps.values(), *placed]:
            _remove(path)
        _remove_dirs(made_dirs)
        raise


def _record(out_dir: str, names: set[str]) -> None:
    """Add `names` to DIR's manifest, where it can have one, so a later run that replaces the
    set knows these files are DFL's (best effort: without a manifest they are kept)."""
    try:
        output_set.write_manifest(out_dir, sorted(output_set.read_manifest(out_dir) | names))
    except OSError:
        pass


def _is_cwd(folder: str) -> bool:
    try:
        return os.path.samefile(folder, os.getcwd())
    except OSError:
        return False


def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it
    os.umask(mask)
    return mask


def _remove_dirs(made: list[str]) -> None:
    for folder in reversed(made):
        try:
            os.rmdir(folder)
        except OSError:
            pass


def _make_dirs(folder: str, made: list[str]) -> None:
    """Like os.makedirs, but records each folder it creates so a failure can remove them."""
    missing: list[str] = []
    folder = os.path.abspath(folder)
    while not os.path.isdir(folder):
        missing.append(folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    for d in reversed(missing):
        os.mkdir(d)
        made.append(d)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass  # already renamed away, or never created


def print_tables(relations: Relations, console: Console | None = None, max_rows: int = 1000) -> None:
    """Print each relation as a table for people, its rows sorted as in the CSV.

    Beyond `max_rows` rows only the first `max_rows` are shown, and a line says how many
    more there are. Relations are printed in the order of `relations`.
    """
    import numpy as np
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from dfl.backends.columnar.frame import Frame

    console = console or Console()
    for name, (schema, rows) in relations.items():
        if isinstance(rows, Frame):  # columns: sort them, and make tuples of the rows shown only
            frame = rows.sorted()
            ordered = frame.take(np.arange(min(frame.n, max_rows + 1))).rows() if frame.cols else frame.rows()
            total = frame.n
        else:
            ordered = sort_rows(rows, schema.types)
            total = len(ordered)
        if schema.arity == 0:
            # rich draws nothing for a table without columns, so say it in words.
            console.print(Text(f"{name}() {'holds' if ordered else 'does not hold'}", style="bold"))
            continue
        count = f"{total} row{'' if total == 1 else 's'}"
        table = Table(title=escape(f"{name} ({count})"), title_justify="left", title_style="bold")
        for column in schema.columns:
            table.add_column(Text(str(column)), justify="right" if column.type.numeric else "left")
        types = schema.types
        for row in ordered[:max_rows]:
            # Text() keeps rich from reading markup in values; printable() keeps control
            # characters (an ANSI escape in the data) from reaching the terminal raw.
            table.add_row(*(Text(printable(format_value(v, t))) for v, t in zip(row, types)))
        console.print(table)
        if total > max_rows:
            more = total - max_rows
            console.print(Text(f"… {more} more row{'' if more == 1 else 's'} not shown; "
                               f"-O DIR writes them all", style="dim"))
