"""Writing result files so that a reader never sees half a file and a rerun never mixes runs.

Every result file is written to a temporary name in its own folder and renamed over the final name only
when complete (``os.replace`` is atomic on one file system). A failure (disk full, no permission) removes
the temporary file and raises ``RomcamError`` with one line; an earlier complete file of that name is
left as it was.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from romcam.errors import RomcamError


def write_error(path: Path, exc: OSError) -> RomcamError:
    """A one-line error for a failed write, naming the file and saying plainly when the disk is full."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return RomcamError(f"disk full while writing {path}: free some space and run again")
    return RomcamError(f"cannot write {path}: {exc.strerror or exc}")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write to; on success it becomes ``path``.

    The temporary name keeps ``path``'s suffix, so writers that choose a format by suffix (video, PNG,
    NumPy) still do.
    """
    path = Path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".part{path.suffix}")
        os.close(fd)
    except OSError as exc:
        raise write_error(path, exc) from exc
    tmp = Path(tmp_name)
    try:
        yield tmp
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise RomcamError(f"cannot write {path}: nothing was written (disk full or an encoder failed)")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        raise write_error(path, exc) from exc
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def remove_outputs(out_dir: Path, patterns: Iterable[str]) -> list[str]:
    """Delete the files in ``out_dir`` (not below it) that a command writes (glob ``patterns``), so that a
    rerun into the same folder never leaves an earlier run's files beside its own; returns their names.
    Other files in the folder are not touched."""
    removed = []
    for entry in sorted(Path(out_dir).iterdir()) if Path(out_dir).is_dir() else []:
        if entry.is_file() and any(fnmatch.fnmatch(entry.name, p) for p in patterns):
            try:
                entry.unlink()
            except OSError as exc:
                raise RomcamError(f"cannot remove the earlier run's {entry}: {exc.strerror or exc}") from exc
            removed.append(entry.name)
    return removed


def check_output_dir(out_dir: Path) -> None:
    """Create ``out_dir`` and prove it is writable before any long work starts."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out_dir, prefix=".romcam-write-test")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise RomcamError(f"cannot write to output directory {out_dir}: {exc.strerror or exc}") from exc
