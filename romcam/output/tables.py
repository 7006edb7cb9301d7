"""angles.csv and summary.json."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from romcam.fileio import atomic_path, write_text_atomic


def write_angles_csv(
    path: Path, t_s: np.ndarray, angles_deg: dict[str, np.ndarray], text_columns: dict[str, list[str]] | None = None
) -> None:
    """``time_s``, one column per angle in degrees (NaN written as ``nan``), then the text columns
    (e.g. ``<angle>_flags``) after all the angles, so the angle columns keep their places."""
    names = list(angles_deg)
    extra = text_columns or {}
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["time_s", *names, *extra])
        t = np.asarray(t_s, dtype=float)
        values = [np.asarray(angles_deg[n], dtype=float) for n in names]
        for start in range(0, t.size, 4096):  # rows in blocks: the text of an hour is never held at once
            block = slice(start, start + 4096)
            columns = [
                [f"{v:.6f}" for v in t[block].tolist()],
                *([f"{v:.3f}" for v in column[block].tolist()] for column in values),
                *(text[block] for text in extra.values()),
            ]
            writer.writerows(zip(*columns, strict=True))


def read_angles_csv(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Inverse of ``write_angles_csv`` for the numbers: time and angles (``*_flags`` columns skipped)."""
    t_s, angles, _ = read_angles_csv_with_flags(path)
    return t_s, angles


def read_angles_csv_with_flags(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, list[str]]]:
    """Time, angles and the ``<angle>_flags`` text columns (by angle name) of an angles.csv."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    numeric = [i for i, name in enumerate(header) if not name.endswith("_flags")]
    body = np.array([[r[i] for i in numeric] for r in rows[1:]], dtype=float).reshape(-1, len(numeric))
    angles = {header[i]: body[:, k] for k, i in enumerate(numeric) if k > 0}
    flags = {header[i].removesuffix("_flags"): [r[i] for r in rows[1:]] for i in range(len(header)) if i not in numeric}
    return body[:, 0], angles, flags


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    if isinstance(value, Path):
        return str(value)
    return value


SCHEMA_VERSION = 1
"""Version of the layout of every JSON file romcam writes (``docs/schema.md``); raised when a field changes
meaning or goes away (new fields do not raise it)."""


def to_json(data: dict[str, Any]) -> str:
    """Strict JSON (NaN and infinities become null), led by ``schema_version``."""
    return json.dumps(_json_safe({"schema_version": SCHEMA_VERSION, **data}), indent=2, allow_nan=False)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as strict JSON, atomically."""
    write_text_atomic(path, to_json(data) + "\n")
